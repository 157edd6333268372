"""``/openapi.json`` is a valid, complete OpenAPI document: every reference resolves, the
signing headers and admin tokens are security schemes applied to the routes, every error
status is problem+json, and every request body is described."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from utilipay.access.scopes import Scope
from utilipay.web.app import create_app

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    document: dict[str, Any] = create_app().fastapi.openapi()
    return document


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert "FundingSource" in schemas


def test_signing_headers_and_admin_tokens_are_security_schemes(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    headers = {s["name"] for s in schemes.values() if s["type"] == "apiKey"}
    assert {"X-Utilipay-Channel", "X-Utilipay-Timestamp", "X-Utilipay-Nonce"} <= headers
    assert "X-Utilipay-Signature" in headers
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["apiToken"].items()
    for path, _, operation in operations(doc):
        (requirement,) = operation["security"]
        if path.startswith("/v1/"):
            assert set(requirement) == {"channel", "timestamp", "nonce", "signature"}
        elif path.startswith("/biller/"):
            assert set(requirement) == {"biller", "billerTime", "billerSign"}
        else:  # an API token with the one scope the route needs, or a 403
            (scope,) = requirement["apiToken"]
            assert scope in {s.value for s in Scope} and "403" in operation["responses"]


def test_every_error_status_is_problem_json(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        responses = operation["responses"]
        assert {"400", "401", "413", "500", "503"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "Retry-After" in doc["paths"]["/v1/payments"]["post"]["responses"]["503"]["headers"]


def test_every_request_body_is_described(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        if method in {"post", "put", "patch"}:
            content = operation["requestBody"]["content"]
            assert all(c["schema"] for c in content.values()), (method, path)
    fee = doc["paths"]["/admin/v1/settlements/fees/{party}/{code}"]["put"]
    schema = fee["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FeeIn"}


async def test_the_served_document_is_the_same(http: httpx.AsyncClient, doc: Any) -> None:
    served = await http.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == doc

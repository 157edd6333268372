"""The OpenAPI document (``/openapi.json``), completed where FastAPI cannot know the API.

FastAPI documents what it routes and validates. The hub also verifies signatures and
bearer tokens, reads some bodies itself, and answers every refusal as problem+json
(400 for invalid input, where FastAPI assumes 422): this adds the security schemes and
applies them, the request bodies handlers parse, and a ``Problem`` response for every
error status an operation can answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from utilipay.http.docs import BODY_MODELS, Problem
from utilipay.http.problems import PROBLEM_JSON

COMPONENT = "#/components/schemas/{model}"


def _header(name: str, description: str) -> dict[str, str]:
    return {"type": "apiKey", "in": "header", "name": name, "description": description}


SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "channel": _header("X-Utilipay-Channel", "the channel's code (channel-api.md §3)"),
    "timestamp": _header("X-Utilipay-Timestamp", "Unix time in seconds, within 300 s"),
    "nonce": _header("X-Utilipay-Nonce", "16-64 of [A-Za-z0-9_-], never reused"),
    "signature": _header(
        "X-Utilipay-Signature",
        "lower-case hex HMAC-SHA256 with the channel's secret of the method, the path with "
        "its query string, the timestamp, the nonce and the hex SHA-256 of the body, "
        "joined by newlines",
    ),
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (`utilipay tokens create NAME --scope …`, `upt_…`); an "
        "operation lists the scopes it needs: a token without them is refused 403",
    },
    "biller": _header("X-Biller", "the biller's code"),
    "billerTime": _header("X-Time", "yyyyMMddHHmmss, Asia/Shanghai, within 300 s"),
    "billerSign": _header(
        "X-Sign", "upper-case hex signature with the biller's key of {biller}|{yyyyMMdd}|{X-Time}"
    ),
}
_REALMS: dict[str, list[dict[str, list[str]]]] = {
    "/v1/": [{"channel": [], "timestamp": [], "nonce": [], "signature": []}],
    "/admin/": [{"apiToken": []}],
    "/metrics": [{"apiToken": []}],
    "/biller/": [{"biller": [], "billerTime": [], "billerSign": []}],
}
# Any operation may be refused for these: input (400), who calls (401), the 64 KiB body
# limit (413), the slow-down of failed authentications (429), or fail on the server's side.
_EVERY_OPERATION = (400, 401, 413, 429, 500, 503)
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}


def _security(path: str, operation: dict[str, Any]) -> list[dict[str, list[str]]]:
    realm = next(realm for prefix, realm in _REALMS.items() if path.startswith(prefix))
    if "apiToken" not in realm[0]:
        return realm
    # The scopes the route declared (admin.auth), and a 403 for a token without them.
    scopes = [s for entry in operation.get("security", []) for s in entry.get("apiToken", [])]
    operation["responses"].setdefault("403", {"description": "problem+json"})
    return [{"apiToken": scopes}]


def _problem_responses(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    default = responses.get("422", {}).get("content", {}).get("application/json", {})
    if default.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]  # FastAPI's; the hub answers invalid input with 400
    for status in _EVERY_OPERATION:
        responses.setdefault(str(status), {"description": "problem+json"})
    for code, response in responses.items():
        if int(code) >= 400:
            response["content"] = {
                PROBLEM_JSON: {"schema": {"$ref": COMPONENT.format(model="Problem")}}
            }
            if code in {"429", "503"}:
                response["headers"] = _RETRY_AFTER


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    models = [(model, "validation") for model in (Problem, *BODY_MODELS)]
    _, definitions = models_json_schema(models, ref_template=COMPONENT)  # type: ignore[arg-type]
    schemas.update(definitions.get("$defs", {}))
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            operation["security"] = _security(path, operation)
            _problem_responses(operation)
    app.openapi_schema = doc
    return doc

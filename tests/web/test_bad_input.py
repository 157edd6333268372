"""Bad input gets a precise problem+json and writes nothing; never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET
from tests.helpers import bill_line, counts, import_bills, payment_body
from utilipay.clock import FrozenClock
from utilipay.security.signing import new_nonce, sign_request
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def bill(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))


async def post_raw(
    client: ChannelClient, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    request = client.http.build_request(
        "POST", "/v1/payments", content=content, headers={"Content-Type": content_type}
    )
    sign_request(request, "WECHAT", SECRET, int(client.clock.now().timestamp()), new_nonce())
    return await client.send(request)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"order_id": "X1", "amount": ', "Invalid JSON"),
        (b"\xff\xfe not utf-8", "Invalid JSON"),
        (b"[]", "should be an object"),
        (b"null", "should be an object"),
        (b'"just a string"', "should be an object"),
        (b"", "EOF"),
    ],
)
async def test_malformed_json(
    wechat: ChannelClient, bill: None, engine: AsyncEngine, content: bytes, needle: str
) -> None:
    before = await counts(engine)
    body = assert_problem(await post_raw(wechat, content), 400, "MALFORMED_REQUEST")
    assert needle in body["detail"]
    assert await counts(engine) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 123.45}, "amount"),
        ({"amount": 12345.0}, "amount"),
        ({"amount": "12345"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": ...}, "amount"),
        ({"order_id": 12345}, "order_id"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": "has spaces"}, "order_id"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"bill_nos": "B202610-0001"}, "bill_nos"),
        ({"bill_nos": []}, "bill_nos"),
        ({"bill_nos": [1]}, "bill_nos"),
        ({"bill_nos": ["B1"] * 101}, "bill_nos"),
        ({"payer": ...}, "payer"),
        ({"account": ["0112345678"]}, "account"),
        ({"currency": "CNY"}, "currency"),  # unknown fields are refused, not ignored
        ({"bill_no": ["B202610-0001"]}, "bill_no"),  # a typo must not pay everything
        ({"payer": "nul\u0000byte"}, "payer"),  # PostgreSQL text cannot hold NUL
        ({"biller": "BJ\u0000WATER"}, "biller"),
    ],
)
async def test_wrong_types_and_shapes(
    wechat: ChannelClient, bill: None, engine: AsyncEngine, overrides: Any, field: str
) -> None:
    before = await counts(engine)
    r = await wechat.call("POST", "/v1/payments", json=payment_body(**overrides))
    body = assert_problem(r, 400, "MALFORMED_REQUEST")
    assert field in body["detail"]
    assert await counts(engine) == before


async def test_a_bill_listed_twice_is_malformed(wechat: ChannelClient, bill: None) -> None:
    r = await wechat.call(
        "POST", "/v1/payments", json=payment_body(bill_nos=["B202610-0001", "B202610-0001"])
    )
    assert_problem(r, 400, "MALFORMED_REQUEST")


@pytest.mark.parametrize("amount", [0, -1, -12345, 5_000_001, 2**63, 10**30])
async def test_amounts_out_of_range(
    wechat: ChannelClient, bill: None, engine: AsyncEngine, amount: int
) -> None:
    before = await counts(engine)
    r = await post_raw(wechat, json.dumps(payment_body(amount=amount)).encode())
    body = assert_problem(r, 422, "AMOUNT_OUT_OF_RANGE")
    assert str(amount) in body["detail"]
    assert await counts(engine) == before


async def test_unknown_biller(wechat: ChannelClient, bill: None, engine: AsyncEngine) -> None:
    r = await wechat.call("POST", "/v1/payments", json=payment_body(biller="NOSUCH"))
    assert_problem(r, 404, "BILLER_NOT_FOUND")
    assert (await counts(engine))["payments"] == 0


@pytest.mark.parametrize(
    "account", ["123", "1012345678", "011234567X", "01123456789", "２５12345678"]
)
async def test_account_failing_the_rule(
    wechat: ChannelClient, bill: None, engine: AsyncEngine, account: str
) -> None:
    r = await wechat.call("POST", "/v1/payments", json=payment_body(account=account))
    body = assert_problem(r, 422, "INVALID_ACCOUNT")
    assert "10 digits" in body["detail"]  # the biller's hint tells the payer what is wrong
    assert (await counts(engine))["payments"] == 0


async def test_body_over_64_kib_is_refused_before_parsing(
    wechat: ChannelClient, bill: None, engine: AsyncEngine
) -> None:
    big = json.dumps(payment_body(payer="x" * (64 * 1024))).encode()
    assert_problem(await post_raw(wechat, big), 413, "PAYLOAD_TOO_LARGE")
    # also when the client streams it without a Content-Length
    chunks = [big[i : i + 8192] for i in range(0, len(big), 8192)]

    async def stream() -> Any:
        for c in chunks:
            yield c

    request = wechat.http.build_request(
        "POST", "/v1/payments", content=stream(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in request.headers
    r = await wechat.http.send(request)
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")
    assert (await counts(engine))["payments"] == 0


async def test_a_body_of_exactly_64_kib_is_parsed(wechat: ChannelClient, bill: None) -> None:
    body = json.dumps(payment_body()).encode()
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    assert len(padded) == 64 * 1024
    r = await post_raw(wechat, padded)
    assert r.status_code == 201


async def test_wrong_content_type(wechat: ChannelClient, bill: None) -> None:
    r = await post_raw(wechat, json.dumps(payment_body()).encode(), "text/plain")
    body = assert_problem(r, 400, "MALFORMED_REQUEST")
    assert "Content-Type" in body["detail"]


async def test_missing_query_parameters(wechat: ChannelClient, bill: None) -> None:
    r = await wechat.call("GET", "/v1/bills", params={"biller": "BJWATER"})
    body = assert_problem(r, 400, "MALFORMED_REQUEST")
    assert "account" in body["detail"]
    r = await wechat.call("GET", "/v1/billers", params={"category": "spaceships"})
    assert_problem(r, 400, "MALFORMED_REQUEST")


async def test_unknown_routes_and_methods_get_problems(wechat: ChannelClient, bill: None) -> None:
    assert_problem(await wechat.call("GET", "/v1/nothing-here"), 404, "NOT_FOUND")
    assert_problem(await wechat.call("PUT", "/v1/payments"), 405, "METHOD_NOT_ALLOWED")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
payment_fields = st.fixed_dictionaries(
    {},
    optional={
        "order_id": json_values | st.text(max_size=70),
        "biller": json_values | st.just("BJWATER"),
        "account": json_values | st.just("0112345678"),
        "amount": json_values | st.integers(min_value=-(2**70), max_value=2**70),
        "bill_nos": json_values | st.lists(st.text(max_size=70), max_size=3),
        "payer": json_values | st.text(max_size=200),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=payment_fields | json_values)
async def test_no_body_gets_a_server_error(wechat: ChannelClient, bill: None, body: Any) -> None:
    r = await post_raw(wechat, json.dumps(body).encode())
    assert r.status_code < 500, r.text
    assert r.status_code in {200, 201, 400, 404, 409, 422}
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"

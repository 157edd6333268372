"""Billers, bindings (户号绑定) and bill queries (查询缴费单) of the channel API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, counts, import_bills
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

BIND = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": ACCOUNT}


@pytest.fixture
async def bills(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B202610-0001"),
        bill_line("B202609-0001", amount=8000, late_fee=40, period="2026-09", due="2026-10-31"),
    )


async def test_billers_are_listed_and_filtered_by_category(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn,
            clock,
            code="BJGAS",
            name="北京燃气",
            category=Category.GAS,
            mode=IntegrationMode.HOSTED,
            account_rule=r"[0-9]{12}",
            actor="test",
        )
    await hub.directory.reload()
    r = await wechat.call("GET", "/v1/billers")
    assert r.status_code == 200
    assert [b["code"] for b in r.json()["billers"]] == ["BJGAS", "BJWATER"]
    water = await wechat.call("GET", "/v1/billers", params={"category": "water"})
    assert water.json() == {
        "billers": [
            {
                "code": "BJWATER",
                "name": "北京自来水",
                "category": "water",
                "region": "110101",
                "account_hint": "10 digits, starts with 01-09 or 25",
                "verification": "none",
            }
        ]
    }
    heating = await wechat.call("GET", "/v1/billers", params={"category": "heating"})
    assert heating.json() == {"billers": []}


async def test_bills_of_an_account(wechat: ChannelClient, bills: None) -> None:
    r = await wechat.call("GET", "/v1/bills", params={"biller": "BJWATER", "account": ACCOUNT})
    assert r.status_code == 200
    assert r.json() == {
        "biller": "BJWATER",
        "account": ACCOUNT,
        "holder": "张*",
        "bills": [
            {
                "bill_no": "B202609-0001",
                "period": "2026-09",
                "amount": 8000,
                "late_fee": 40,
                "due_date": "2026-10-31",
            },
            {
                "bill_no": "B202610-0001",
                "period": "2026-10",
                "amount": 12345,
                "late_fee": 0,
                "due_date": "2026-11-30",
            },
        ],
        "total": 20385,
        "currency": "CNY",
    }


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"biller": "BJWATER", "account": "0900000000"}, 404, "ACCOUNT_NOT_FOUND"),
        ({"biller": "BJWATER", "account": "12"}, 422, "INVALID_ACCOUNT"),
        ({"biller": "NOPE", "account": ACCOUNT}, 404, "BILLER_NOT_FOUND"),
    ],
)
async def test_bill_query_refusals(
    wechat: ChannelClient, bills: None, params: dict[str, str], status: int, code: str
) -> None:
    r = await wechat.call("GET", "/v1/bills", params=params)
    assert (r.status_code, r.json()["code"]) == (status, code)


async def test_binding_an_account_and_binding_it_again(wechat: ChannelClient, bills: None) -> None:
    first = await wechat.call("POST", "/v1/bindings", json=BIND)
    assert first.status_code == 201
    body = first.json()
    assert body["id"].startswith("BD")
    assert {k: body[k] for k in ("payer", "biller", "account", "holder")} == {
        **BIND,
        "holder": "张*",
    }
    assert body["created_at"].endswith("+08:00")
    again = await wechat.call("POST", "/v1/bindings", json=BIND)
    assert again.status_code == 200
    assert again.json() == body


@pytest.mark.parametrize(
    ("account", "status", "code"),
    [("0900000000", 404, "ACCOUNT_NOT_FOUND"), ("99", 422, "INVALID_ACCOUNT")],
)
async def test_binding_checks_the_rule_and_the_biller(
    wechat: ChannelClient, bills: None, engine: AsyncEngine, account: str, status: int, code: str
) -> None:
    r = await wechat.call("POST", "/v1/bindings", json={**BIND, "account": account})
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert (await counts(engine))["bindings"] == 0


async def test_bindings_are_listed_per_channel_and_payer(
    wechat: ChannelClient, alipay: ChannelClient, bills: None
) -> None:
    await wechat.call("POST", "/v1/bindings", json=BIND)
    await alipay.call("POST", "/v1/bindings", json=BIND)
    await wechat.call("POST", "/v1/bindings", json={**BIND, "payer": "someone-else"})
    mine = await wechat.call("GET", "/v1/bindings", params={"payer": "wx-openid-abc"})
    assert mine.status_code == 200
    assert len(mine.json()["bindings"]) == 1
    assert mine.json()["bindings"][0]["payer"] == "wx-openid-abc"
    nobody = await wechat.call("GET", "/v1/bindings", params={"payer": "nobody"})
    assert nobody.json() == {"bindings": []}


async def test_unbinding(wechat: ChannelClient, alipay: ChannelClient, bills: None) -> None:
    binding = (await wechat.call("POST", "/v1/bindings", json=BIND)).json()
    foreign = await alipay.call("DELETE", f"/v1/bindings/{binding['id']}")
    assert (foreign.status_code, foreign.json()["code"]) == (403, "FORBIDDEN")
    gone = await wechat.call("DELETE", f"/v1/bindings/{binding['id']}")
    assert gone.status_code == 204 and gone.content == b""
    again = await wechat.call("DELETE", f"/v1/bindings/{binding['id']}")
    assert (again.status_code, again.json()["code"]) == (404, "NOT_FOUND")
    listed = await wechat.call("GET", "/v1/bindings", params={"payer": BIND["payer"]})
    assert listed.json() == {"bindings": []}
    rebound = await wechat.call("POST", "/v1/bindings", json=BIND)
    assert rebound.status_code == 201 and rebound.json()["id"] != binding["id"]


async def test_openapi_document_is_served(wechat: ChannelClient, world: Any) -> None:
    r = await wechat.http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert {"/v1/billers", "/v1/bindings", "/v1/bills", "/v1/payments"} <= set(spec["paths"])
    pay = spec["paths"]["/v1/payments"]["post"]
    ref = pay["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["properties"]["amount"]["type"] == "integer"
    assert set(schema["required"]) == {"order_id", "biller", "account", "amount", "payer"}

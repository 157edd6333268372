"""``GET /v1/payments/{id}/receipt`` (channel-api.md §11) on payments made through the API,
and the verification code checked against the hub."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.helpers import bill_line, import_bills, payment_body
from tests.utility import CODE, Utility
from utilipay.clock import FrozenClock
from utilipay.receipts import service
from utilipay_tools.client import ChannelClient

RECEIPT = "/v1/payments/{}/receipt"


@pytest.fixture
async def paid(wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock) -> Any:
    """A hosted water bill (with a late fee) paid by WECHAT: the payment's JSON."""
    await import_bills(engine, clock, bill_line("B202610-0001", amount=12000, late_fee=345))
    made = await wechat.call("POST", "/v1/payments", json=payment_body())
    assert made.json()["status"] == "SUCCEEDED", made.text
    return made.json()


async def receipt(client: ChannelClient, payment_id: str, receipt_format: str = "text") -> Any:
    return await client.call("GET", RECEIPT.format(payment_id), params={"format": receipt_format})


def code_on(printed: str) -> str:
    return next(line.split(": ")[1] for line in printed.splitlines() if line.startswith("验证码"))


async def test_a_channels_payment_has_a_text_receipt(wechat: ChannelClient, paid: Any) -> None:
    r = await receipt(wechat, paid["id"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    printed = r.text
    assert f"凭证号: {paid['receipt_no']}" in printed
    assert "缴费单位: 北京自来水 (BJWATER)" in printed
    assert "户号: 0112345678" in printed and "户名: 张*" in printed and "张三" not in printed
    assert "账单: B202610-0001" in printed and "2026-10" in printed
    assert "￥123.45" in printed and "大写: 人民币壹佰贰拾叁元肆角伍分" in printed
    assert "缴费时间: 2026-11-22 15:30:00" in printed
    assert "网点" not in printed
    assert r.text == (await receipt(wechat, paid["id"])).text  # a reprint is the same


async def test_the_pdf_receipt(wechat: ChannelClient, paid: Any) -> None:
    r = await receipt(wechat, paid["id"], "pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    page = pypdf.PdfReader(io.BytesIO(r.content)).pages[0]
    assert paid["receipt_no"] in page.extract_text()


async def test_the_code_verifies_and_a_changed_one_does_not(
    wechat: ChannelClient, paid: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    code = code_on((await receipt(wechat, paid["id"])).text)
    async with engine.begin() as conn:
        genuine = await service.verify(conn, paid["receipt_no"], code.lower(), clock.now())
        other_receipt = await service.verify(conn, "R202611220000009999", code, clock.now())
        changed = code[:-1] + ("0" if code[-1] != "0" else "1")
        forged = await service.verify(conn, paid["receipt_no"], changed, clock.now())
    assert genuine.genuine and genuine.payment_id == paid["id"] and genuine.amount == 12345
    assert genuine.status == "SUCCEEDED"
    assert not other_receipt.genuine and not forged.genuine


async def test_another_channels_payment_is_forbidden_and_an_unknown_one_not_found(
    alipay: ChannelClient, wechat: ChannelClient, paid: Any
) -> None:
    forbidden = await receipt(alipay, paid["id"])
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "FORBIDDEN")
    missing = await receipt(wechat, "P-NO-SUCH")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    unsigned = await wechat.http.get(RECEIPT.format(paid["id"]))
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "UNAUTHENTICATED")
    bad_format = await receipt(wechat, paid["id"], "docx")
    assert (bad_format.status_code, bad_format.json()["code"]) == (400, "MALFORMED_REQUEST")


def remote_payment(order: str) -> dict[str, Any]:
    return {"order_id": order, "biller": CODE, "account": REMOTE_ACCOUNT, "amount": 4250,
            "bill_nos": ["RB-1"], "payer": "wx-openid-remote"}  # fmt: skip


async def test_a_payment_still_processing_has_no_receipt_yet(
    wechat: ChannelClient, utility: Utility
) -> None:
    utility.fail_with("drop_response=1")
    pending = (await wechat.call("POST", "/v1/payments", json=remote_payment("WX-R1"))).json()
    assert pending["status"] == "PROCESSING"
    r = await receipt(wechat, pending["id"])
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    assert r.json()["payment_status"] == "PROCESSING"


async def test_a_remote_utilitys_receipt_lists_its_bills_by_number(
    wechat: ChannelClient, utility: Utility
) -> None:
    paid = (await wechat.call("POST", "/v1/payments", json=remote_payment("WX-R2"))).json()
    assert paid["status"] == "SUCCEEDED"
    printed = (await receipt(wechat, paid["id"])).text
    assert "账单: RB-1" in printed and "户名: -" in printed  # the hub keeps neither
    assert "￥42.50" in printed and "人民币肆拾贰元伍角" in printed


@pytest.fixture
async def at_outlet(paid: Any, engine: AsyncEngine) -> None:
    """The payment as if taken at a village shop's POS by its operator, collected offline the
    day before (store and forward): the rows of migration 0029 the terminal payment writes."""
    async with engine.begin() as conn:
        await conn.execute(
            text("""
            WITH float AS (
              INSERT INTO ledger_accounts (code, kind, channel_id, currency, created_at)
              SELECT 'OUTLET_FLOAT:WECHAT:S001', 'OUTLET_FLOAT', id, 'CNY', now()
                FROM channels WHERE code = 'WECHAT' RETURNING id, channel_id),
            shop AS (
              INSERT INTO outlets (channel_id, code, name, kind, region, status, low_threshold,
                                   float_account, created_at)
              SELECT channel_id, 'S001', '红星村便民超市', 'collector', '350521', 'ACTIVE',
                     10000, id, now() FROM float RETURNING id),
            terminal AS (
              INSERT INTO terminals (id, outlet_id, type, label, secret, status, created_at)
              SELECT 'T01JDX3Q7', id, 'pos_mobile', '上门收费POS', 'sealed?', 'ACTIVE', now()
                FROM shop RETURNING outlet_id)
            INSERT INTO outlet_operators (outlet_id, code, name, status, created_at)
            SELECT outlet_id, 'OP01', '王丽', 'ACTIVE', now() FROM terminal"""),
        )
        await conn.execute(
            text("""
            INSERT INTO outlet_payments (biller_id, payment_id, outlet_id, terminal_id,
                operator_code, tender, amount, collected_at, received_at, float_state)
            SELECT p.biller_id, p.id, o.id, 'T01JDX3Q7', 'OP01', 'cash', p.amount,
                   p.created_at - interval '1 day 2 hours', p.created_at, 'TAKEN'
              FROM payments p, outlets o WHERE p.id = :id AND o.code = 'S001'"""),
            {"id": paid["id"]},
        )


async def test_an_outlets_receipt_names_the_outlet_terminal_operator_and_both_times(
    wechat: ChannelClient, paid: Any, at_outlet: None
) -> None:
    printed = (await receipt(wechat, paid["id"])).text
    assert "网点: 红星村便民超市 (S001)" in printed
    assert "终端: 上门收费POS (T01JDX3Q7)" in printed
    assert "收费员: 王丽 (OP01)" in printed
    assert "收款时间: 2026-11-21 13:30:00" in printed
    assert "受理时间: 2026-11-22 15:30:00" in printed

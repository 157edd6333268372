"""What the payer pages refuse: a form without the session's CSRF token, another payer's
binding, order or receipt by URL (404, as if it did not exist), a bad account with the API's
problem codes; and the headers every page sends (a strict CSP, framing by the channel's own
origins only)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import OTHER_SECRET
from tests.h5.conftest import OTHER_PAYER, PAYER, open_session
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.console.i18n import Locale
from utilipay.h5 import launch
from utilipay_tools.client import ChannelClient

CASHIER = "https://cashier.wallet.example/pay"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf(http: httpx.AsyncClient) -> str:
    found = _CSRF.search((await http.get("/h5/")).text)
    assert found is not None
    return found.group(1)


async def bind(
    http: httpx.AsyncClient, biller: str = "BJWATER", account: str = ACCOUNT
) -> httpx.Response:
    form = {"biller": biller, "account": account, "csrf_token": await csrf(http)}
    return await http.post("/h5/bindings", data=form)


async def live_bindings(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(text("SELECT count(*) FROM bindings WHERE deleted_at IS NULL")) or 0
        )


@pytest.fixture
async def billed(engine: AsyncEngine, clock: FrozenClock) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001", late_fee=500))
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", cashier_url=CASHIER,
            frame_ancestors="https://app.wallet.example https://m.wallet.example", actor="test",
        )  # fmt: skip


async def test_a_form_without_the_sessions_token_is_refused(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, billed: None
) -> None:
    await open_session(http, clock)
    for token in (None, "forged-token"):
        form = {"biller": "BJWATER", "account": ACCOUNT}
        refused = await http.post(
            "/h5/bindings", data=form | ({"csrf_token": token} if token else {})
        )
        assert refused.status_code == 403 and "表单已过期" in refused.text
    assert await live_bindings(engine) == 0
    assert (await bind(http)).status_code == 303
    assert await live_bindings(engine) == 1


async def test_the_bind_form_refuses_as_the_api_does(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, billed: None
) -> None:
    await open_session(http, clock)
    # the API's code, after words a payer reads in their language (zh-CN by default)
    cases = {
        ("BJWATER", "123"): (422, "户号格式与该缴费单位不符，请对照账单核对。 (INVALID_ACCOUNT)"),
        ("NOSUCH", ACCOUNT): (404, "该缴费单位暂不支持在此缴费。 (BILLER_NOT_FOUND)"),
        ("BJWATER", "0199999999"): (404, "缴费单位查无此户号。 (ACCOUNT_NOT_FOUND)"),
        ("BJWATER", ""): (400, "请检查填写的内容： account"),
    }
    for (biller, account), (status, said) in cases.items():
        answer = await bind(http, biller, account)
        assert (answer.status_code, said in answer.text) == (status, True), (biller, account)
        assert 'role="alert"' in answer.text
    assert await live_bindings(engine) == 0
    await http.get("/h5/language/en")
    answer = await bind(http, "BJWATER", "123")
    assert "Check it on a bill. (INVALID_ACCOUNT)" in answer.text


async def paid_order(http: httpx.AsyncClient, wechat: ChannelClient) -> tuple[str, str, str]:
    """(binding id, order id, payment id) of the payer of ``http``'s session."""
    bound = await bind(http)
    binding_id = bound.headers["location"].rsplit("/", 1)[1]
    token = await csrf(http)
    sent = await http.post(f"/h5/accounts/{binding_id}/pay", data={"csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"].startswith(CASHIER)
    asked = {k: v[0] for k, v in parse_qs(urlsplit(sent.headers["location"]).query).items()}
    assert asked["amount"] == "12845" and asked["bill_nos"] == "B202610-0001"
    assert asked["return_url"].endswith(f"/h5/orders/{asked['order_id']}")
    body = {"order_id": asked["order_id"], "biller": "BJWATER", "account": ACCOUNT,
            "amount": 12845, "bill_nos": ["B202610-0001"], "payer": PAYER}  # fmt: skip
    paid = (await wechat.call("POST", "/v1/payments", json=body)).json()
    assert paid["status"] == "SUCCEEDED"
    return binding_id, asked["order_id"], paid["id"]


async def test_another_payers_objects_are_not_found(
    http: httpx.AsyncClient, clock: FrozenClock, wechat: ChannelClient, billed: None
) -> None:
    await open_session(http, clock)
    binding_id, order_id, payment_id = await paid_order(http, wechat)
    own = [f"/h5/accounts/{binding_id}", f"/h5/orders/{order_id}",
           f"/h5/payments/{payment_id}/receipt"]  # fmt: skip
    assert [(await http.get(path)).status_code for path in own] == [200, 200, 200]
    http.cookies.clear()
    await open_session(http, clock, OTHER_PAYER)
    token = await csrf(http)
    for path in own:
        answer = await http.get(path)
        assert answer.status_code == 404 and "未找到" in answer.text, path
        assert ACCOUNT not in answer.text and "12845" not in answer.text
    unbind = await http.post(f"/h5/accounts/{binding_id}/unbind", data={"csrf_token": token})
    assert unbind.status_code == 404


async def test_another_channels_session_sees_none_of_it(
    http: httpx.AsyncClient, clock: FrozenClock, wechat: ChannelClient, billed: None
) -> None:
    await open_session(http, clock)
    binding_id, order_id, _ = await paid_order(http, wechat)
    http.cookies.clear()
    link = launch.link(
        "", "ALIPAY", OTHER_SECRET, PAYER, Locale.ZH_CN, int(clock.now().timestamp())
    )
    assert (await http.get(link)).status_code == 303
    assert (await http.get(f"/h5/accounts/{binding_id}")).status_code == 404
    assert (await http.get(f"/h5/orders/{order_id}")).status_code == 404
    assert ACCOUNT not in (await http.get("/h5/")).text


async def test_every_page_sends_a_strict_policy_and_framing_by_the_channels_origins(
    http: httpx.AsyncClient, clock: FrozenClock, billed: None
) -> None:
    refused = await http.get("/h5/")
    assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    await open_session(http, clock)
    page = await http.get("/h5/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'; script-src 'self'" in policy
    assert policy.endswith("frame-ancestors https://app.wallet.example https://m.wallet.example")
    assert "form-action 'self' https://cashier.wallet.example;" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    style = await http.get("/h5/static/h5.css")
    assert style.status_code == 200 and style.headers["x-content-type-options"] == "nosniff"

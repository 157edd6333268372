"""Auto-pay and smart payment on the payer pages: Alipay's five-step sign-up with step 4
(funding sources, payment password) at the channel's cashier (the simulator's) in Chromium;
a mandate's page: its sources moved up and down, its cap changed, a debit seen, cancelled;
smart payment with a top-up (through the cashier) and without; and what is refused: a cap
the API refuses (its code shown, nothing written), another payer's mandate or sign-up by
URL (404), an unverified binding (a page saying so)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import SOURCES, run_until, sh
from tests.bindings.sms import set_mode
from tests.conftest import SECRET
from tests.h5.conftest import OTHER_PAYER, PAYER, launch_link, open_session, snapshot
from tests.h5.test_security import csrf
from tests.helpers import ACCOUNT, HOLDER, bill_line, bind_verified, import_bills
from tests.prepaid.test_enrolments_api import ready
from utilipay.billers.schemas import Verification
from utilipay.clock import FrozenClock
from utilipay.h5.cashier import message, signed_by_hub
from utilipay.security.signing import sign
from utilipay.web.hub import Hub
from utilipay_tools.channelsim.signup import DEMO_PASSWORD
from utilipay_tools.client import ChannelClient


async def rows(engine: AsyncEngine, table: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")))


async def signed(wechat: ChannelClient, payer: str = PAYER, **more: Any) -> dict[str, Any]:
    """A mandate the channel signed through the API, the account bound and verified."""
    await bind_verified(wechat, payer)
    body = {"payer": payer, "biller": "BJWATER", "account": ACCOUNT,
            "funding_sources": SOURCES} | more  # fmt: skip
    answer = await wechat.call("POST", "/v1/mandates", json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_the_five_step_sign_up_with_the_password_at_the_channel(
    autopay: Any, phone: Page, clock: FrozenClock, engine: AsyncEngine, cashier: str
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await phone.goto(launch_link(clock))
    await phone.get_by_role("link", name="自动缴费").click()
    await phone.get_by_role("link", name="签约自动缴费").click()
    # 1: bind the account number, verified by the holder's name
    await phone.get_by_label("缴费单位").select_option(label="北京自来水 (水费)")
    await phone.get_by_label("户号", exact=True).fill(ACCOUNT)
    await phone.get_by_label("户名").fill(HOLDER)
    await snapshot(phone, "autopay-1-bind")
    await phone.get_by_role("button", name="下一步").click()
    # 2: the utility
    await expect(phone.get_by_role("heading", name="选择缴费类型")).to_be_visible()
    await expect(phone.get_by_label(f"水费 · 北京自来水 · {ACCOUNT}")).to_be_checked()
    await snapshot(phone, "autopay-2-choose")
    await phone.get_by_role("button", name="下一步").click()
    # 3: the terms and the cap
    await expect(phone.get_by_role("heading", name="自动缴费协议")).to_be_visible()
    await expect(phone.get_by_text("出账后 3 个工作日内扣款")).to_be_visible()
    await phone.get_by_label("每期扣款上限").fill("200")
    await phone.get_by_label("我已阅读并同意以上协议").check()
    await snapshot(phone, "autopay-3-agree")
    await phone.get_by_role("button", name="同意协议并去支付确认").click()
    # 4: at the channel: its sources in order, its password (the hub sees neither)
    await expect(phone.get_by_text("每期上限 ¥200.00")).to_be_visible()
    await expect(phone.locator("ol li")).to_have_text(["储蓄卡(1234)", "余额"])
    await phone.get_by_label("支付密码").fill("000000")
    await phone.get_by_role("button", name="确认签约").click()
    await expect(phone.get_by_role("alert")).to_have_text("支付密码错误")
    assert await rows(engine, "mandates") == []
    await phone.get_by_label("支付密码").fill(DEMO_PASSWORD)
    await snapshot(phone, "autopay-4-password")
    await phone.get_by_role("button", name="确认签约").click()
    # 5: signed, as the channel signed it for this request
    await expect(phone.get_by_role("status")).to_have_text("自动缴费签约成功。")
    facts = phone.locator("dl.facts")
    for shown in ("北京自来水", ACCOUNT, "¥200.00"):
        await expect(facts).to_contain_text(shown)
    await expect(facts.locator("ol li")).to_have_text(["储蓄卡(1234)", "余额"])
    await snapshot(phone, "autopay-5-signed")
    (mandate,) = await rows(engine, "mandates")
    (signup,) = await rows(engine, "payer_signups")
    assert (mandate.cap, mandate.payer, mandate.signup_id) == (20000, PAYER, signup.id)
    await phone.get_by_role("link", name="查看自动缴费").click()
    await expect(phone.get_by_role("heading", name="自动缴费 · 北京自来水")).to_be_visible()


async def test_sources_moved_cap_changed_a_debit_seen_then_cancelled(
    autopay: Any, phone: Page, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))  # due before: never debited
    mandate = await signed(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B202611-0001", amount=4321, period="2026-11"))
    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    await phone.goto(launch_link(clock))
    await phone.goto(f"/h5/autopay/accounts/{(await rows(engine, 'bindings'))[0].id}/terms")
    await expect(phone).to_have_url(f"/h5/autopay/mandates/{mandate['id']}")
    await expect(phone.locator(".card").first).to_contain_text("¥43.21 · 缴费成功")
    await expect(phone.locator(".card").first).to_contain_text("B202611-0001")
    sources = phone.locator("ol.sources .what")
    await expect(sources).to_have_text(["储蓄卡(1234)", "余额"])
    await phone.get_by_role("button", name="将余额上移").click()
    await expect(sources).to_have_text(["余额", "储蓄卡(1234)"])
    await phone.get_by_role("button", name="将余额下移").click()
    await expect(sources).to_have_text(["储蓄卡(1234)", "余额"])
    await phone.get_by_label("每期扣款上限").fill("300.5")
    await phone.get_by_role("button", name="保存上限").click()
    await expect(phone.locator("dl.facts")).to_contain_text("¥300.50")
    await snapshot(phone, "autopay-mandate")
    (row,) = await rows(engine, "mandates")
    assert (row.cap, [s["id"] for s in row.funding_sources]) == (30050, ["card-1", "balance"])
    await phone.get_by_role("link", name="解约自动缴费").click()
    await expect(phone.get_by_role("heading", name="确定解约自动缴费？")).to_be_visible()
    await snapshot(phone, "autopay-cancel")
    await phone.get_by_role("button", name="解约自动缴费").click()
    await expect(phone.locator("dl.facts")).to_contain_text("已解约")
    await expect(phone.get_by_role("button", name="保存上限")).to_have_count(0)
    (row,) = await rows(engine, "mandates")
    assert row.status == "CANCELLED"


async def test_smart_payment_with_a_top_up_is_authorised_at_the_channel(
    autopay: Any, phone: Page, clock: FrozenClock, engine: AsyncEngine, cashier: str,
    wechat: ChannelClient,
) -> None:  # fmt: skip
    await ready(engine, clock)
    binding = await bind_verified(wechat, PAYER)
    await phone.goto(launch_link(clock))
    await phone.goto(f"/h5/accounts/{binding['id']}")
    await phone.get_by_role("link", name="智能交费", exact=True).click()
    await phone.get_by_label("余额低于多少时提醒").fill("20")
    await phone.get_by_label("自动充值金额").fill("50")
    await snapshot(phone, "smart-signup")
    await phone.get_by_role("button", name="开通智能交费").click()
    await expect(phone.get_by_text("自动充值 ¥50.00")).to_be_visible()  # the channel's page
    await phone.get_by_label("支付密码").fill(DEMO_PASSWORD)
    await phone.get_by_role("button", name="确认签约").click()
    await expect(phone.get_by_role("status")).to_have_text("智能交费已开通，并已开启自动充值。")
    await expect(phone.locator("dl.facts")).to_contain_text("¥20.00")
    await expect(phone.locator("dl.facts")).to_contain_text("¥50.00")
    await expect(phone.get_by_role("link", name="查看余额")).to_have_attribute(
        "href", f"/h5/prepaid/{binding['id']}"
    )
    await snapshot(phone, "smart-signed")
    (enrolment,) = await rows(engine, "enrolments")
    (mandate,) = await rows(engine, "mandates")
    assert (enrolment.mandate_id, mandate.topup_amount) == (mandate.id, 5000)
    # later: the amounts changed on the pages directly, the top-up's mandate with them
    await phone.goto(f"/h5/autopay/smart/{binding['id']}")
    await phone.get_by_label("余额低于多少时提醒").fill("30")
    await phone.get_by_label("自动充值金额").fill("60")
    await phone.get_by_role("button", name="保存").click()
    await expect(phone.locator("dl.facts")).to_contain_text("¥60.00")
    (mandate,) = await rows(engine, "mandates")
    assert (mandate.topup_amount, mandate.status) == (6000, "ACTIVE")


async def test_smart_payment_without_a_top_up_is_enrolled_directly_then_changed(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient
) -> None:
    await ready(engine, clock)
    binding = await bind_verified(wechat, PAYER)
    await open_session(http, clock)
    page = f"/h5/autopay/smart/{binding['id']}"
    form = {"reminder": "20", "topup": "", "csrf_token": await csrf(http)}
    answer = await http.post(page, data=form)
    assert (answer.status_code, answer.headers["location"]) == (303, page)
    shown = (await http.get(page)).text
    assert "智能交费已开通。" in shown and "¥20.00" in shown
    assert await rows(engine, "mandates") == [] and await rows(engine, "payer_signups") == []
    changed = await http.post(f"{page}/change", data={**form, "reminder": "35.5"})
    assert changed.status_code == 303
    assert "¥35.50" in (await http.get(page)).text


@pytest.mark.parametrize(
    ("cap", "code"),
    [("abc", "MALFORMED_REQUEST"), ("0", "AMOUNT_OUT_OF_RANGE"),
     ("5000.01", "AMOUNT_OUT_OF_RANGE")],
)  # fmt: skip
async def test_a_cap_the_api_refuses_shows_its_code_and_writes_nothing(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, wechat: ChannelClient,
    cap: str, code: str,
) -> None:  # fmt: skip
    await import_bills(engine, clock, bill_line("B202610-0001"))
    binding = await bind_verified(wechat, PAYER)
    await open_session(http, clock)
    form = {"cap": cap, "agree": "yes", "csrf_token": await csrf(http)}
    answer = await http.post(f"/h5/autopay/accounts/{binding['id']}/sign", data=form)
    assert answer.status_code == (400 if code == "MALFORMED_REQUEST" else 422), answer.text
    assert 'role="alert"' in answer.text and f"({code})</p>" in answer.text
    assert await rows(engine, "payer_signups") == [] and await rows(engine, "mandates") == []


async def test_another_payers_mandate_or_sign_up_is_not_found(
    autopay: Any, http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine,
    wechat: ChannelClient,
) -> None:  # fmt: skip
    await import_bills(engine, clock, bill_line("B202610-0001"))
    mandate = await signed(wechat, OTHER_PAYER)
    await open_session(http, clock)
    for path in (f"/h5/autopay/mandates/{mandate['id']}", "/h5/autopay/signups/S-nope"):
        assert (await http.get(path)).status_code == 404
    form = {"cap": "100", "csrf_token": await csrf(http)}
    refused = await http.post(f"/h5/autopay/mandates/{mandate['id']}/cap", data=form)
    assert refused.status_code == 404
    assert "¥1,000.00" not in (await http.get("/h5/autopay")).text


async def test_a_mandate_of_an_account_no_longer_verified_is_refused_with_a_page(
    autopay: Any, http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine,
    wechat: ChannelClient,
) -> None:  # fmt: skip
    await import_bills(engine, clock, bill_line("B202610-0001"))
    mandate = await signed(wechat)
    async with engine.begin() as conn:  # as a binding made before verification existed
        await conn.execute(text("UPDATE bindings SET verified_at = NULL"))
    await open_session(http, clock)
    page = await http.get(f"/h5/autopay/mandates/{mandate['id']}")
    assert (page.status_code, "该户号需先完成验证" in page.text) == (403, True)
    form = {"cap": "100", "csrf_token": await csrf(http)}
    refused = await http.post(f"/h5/autopay/mandates/{mandate['id']}/cap", data=form)
    assert refused.status_code == 403
    assert [r.cap for r in await rows(engine, "mandates")] == [mandate["cap"]]


async def test_an_unverified_account_must_be_verified_first(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await open_session(http, clock)
    form = {"biller": "BJWATER", "account": ACCOUNT, "csrf_token": await csrf(http)}
    bound = await http.post("/h5/bindings", data=form)  # the pages' bind: not verified
    binding_id = bound.headers["location"].rsplit("/", 1)[-1]
    page = await http.get(f"/h5/autopay/accounts/{binding_id}/terms")
    assert page.status_code == 403
    assert "该户号需先完成验证" in page.text and "去验证" in page.text


async def test_step_one_at_a_utility_that_verifies_by_sms_goes_to_the_code_step(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, hub: Hub
) -> None:
    """A holder's name does not bind where the utility asks for an SMS code: step 1 sends
    the payer to the verification step rather than refusing."""
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_mode(engine, clock, hub, Verification.SMS)
    await open_session(http, clock)
    form = {"biller": "BJWATER", "account": ACCOUNT, "holder": HOLDER,
            "csrf_token": await csrf(http)}  # fmt: skip
    sent = await http.post("/h5/autopay/new", data=form)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/h5/verify?biller=BJWATER&account={ACCOUNT}"
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM bindings")) == 0


def test_a_sign_up_link_is_signed_over_its_own_fields_and_pay_links_are_unchanged() -> None:
    fields = {"purpose": "signup", "signup_id": "S1", "kind": "autopay", "biller": "BJWATER",
              "account": ACCOUNT, "payer": PAYER, "cap": "20000", "reminder": "",
              "topup_amount": "", "return_url": "http://hub/s/S1", "ts": "1"}  # fmt: skip
    signed_fields = {**fields, "sig": sign(SECRET, message(fields))}
    assert signed_by_hub((SECRET,), signed_fields)
    assert not signed_by_hub((SECRET,), {**signed_fields, "cap": "500000"})
    assert not signed_by_hub((SECRET,), {**signed_fields, "purpose": ""})  # not a pay link
    pay = {"order_id": "H5X", "amount": "100", "biller": "BJWATER", "account": ACCOUNT,
           "bill_nos": "B1", "payer": PAYER, "return_url": "http://hub/o", "ts": "1"}  # fmt: skip
    assert message(pay) == "\n".join(pay.values()).encode()  # as before sign-ups

"""Binding with the utility's verification on the payer pages (channel-api.md §13), in
Chromium at a phone's size: each mode (none, the holder's name, an SMS code), the failures
(a wrong name, a wrong code with the tries left, an expired code, too many tries), and a
binding made before its utility asked for a proof shown as not verified and verified from
its page. In process: the brakes on codes and names say when to try again, an account
without a phone is the API's PHONE_REQUIRED, and a code typed is neither logged nor put
back into a page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.bindings.sms import PHONE, give_phone, set_mode, texted_code
from tests.h5.conftest import launch_link, open_session, snapshot
from tests.h5.test_journeys import bind
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.billers.schemas import Verification
from utilipay.clock import FrozenClock
from utilipay.web.hub import Hub

ACCOUNT_TITLE = f"北京自来水 · {ACCOUNT}"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def account(engine: AsyncEngine, clock: FrozenClock) -> None:
    """BJWATER's account of 张三 with a bill due and a phone on record."""
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await give_phone(engine, clock, "BJWATER", ACCOUNT)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def give_code(phone: Page, code: str) -> None:
    await phone.get_by_label("验证码", exact=True).fill(code)
    await phone.get_by_role("button", name="验证并绑定").click()


async def ask_code(phone: Page, button: str = "获取验证码") -> None:
    await phone.get_by_role("button", name=button).click()
    await expect(phone.get_by_role("status")).to_contain_text("验证码已发送至 138****8000")


async def test_mode_none_binds_at_once_unverified_then_verified_by_name(
    phone: Page, clock: FrozenClock, account: None
) -> None:
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_be_visible()
    await phone.get_by_role("link", name="去验证").click()
    await expect(phone.get_by_role("heading", name="验证户号")).to_be_visible()
    await phone.get_by_label("户名").fill("张 三")
    await phone.get_by_role("button", name="验证", exact=True).click()
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_have_count(0)


async def test_mode_holder_name_asks_for_the_name_and_refuses_a_wrong_one(
    phone: Page, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.HOLDER_NAME)
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)
    await expect(phone.get_by_role("heading", name="绑定户号", level=1)).to_be_visible()
    await expect(phone.get_by_text("北京自来水需要核对户主的完整姓名。")).to_be_visible()
    await snapshot(phone, "bind-holder-name")
    await phone.get_by_label("户名").fill("张四")
    await phone.get_by_role("button", name="验证并绑定").click()
    alert = phone.get_by_role("alert")
    await expect(alert).to_have_text("户名与缴费单位登记的不一致。 (FORBIDDEN)")
    await expect(phone.get_by_label("户名")).to_have_value("")  # what was typed is not shown
    await expect(phone.get_by_text("张四")).to_have_count(0)
    await phone.get_by_label("户名").fill("张三")
    await phone.get_by_role("button", name="验证并绑定").click()
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_have_count(0)
    await phone.get_by_role("link", name="我的户号").click()
    await expect(phone.get_by_text("应缴 ¥123.45")).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_have_count(0)


async def test_mode_sms_sends_a_code_and_refuses_a_wrong_one_with_the_tries_left(
    phone: Page, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)
    await expect(phone.get_by_role("button", name="获取验证码")).to_be_visible()
    await ask_code(phone)
    await expect(phone.get_by_role("status")).to_contain_text("15:35 前有效")
    await expect(phone.get_by_text(PHONE)).to_have_count(0)  # never the whole number
    await snapshot(phone, "bind-sms-code")
    code = await texted_code(engine, clock, hub)
    await give_code(phone, wrong(code))
    await expect(phone.get_by_role("alert")).to_have_text(
        "验证码不正确，还可尝试 2 次。 (FORBIDDEN)"
    )
    assert wrong(code) not in await phone.content()  # not put back into the field
    await give_code(phone, code)
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_have_count(0)


async def test_an_expired_code_and_a_code_spent_by_three_wrong_tries_need_a_new_one(
    phone: Page, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)
    await ask_code(phone)
    code = await texted_code(engine, clock, hub)
    clock.advance(timedelta(minutes=5, seconds=1))
    await give_code(phone, code)
    alert = phone.get_by_role("alert")
    await expect(alert).to_have_text("验证码已过期（5 分钟内有效），请重新获取。 (FORBIDDEN)")
    await ask_code(phone, "重新获取验证码")
    code = await texted_code(engine, clock, hub)
    for left in ("2", "1"):
        await give_code(phone, wrong(code))
        await expect(alert).to_contain_text(f"还可尝试 {left} 次")
    await give_code(phone, wrong(code))
    await expect(alert).to_have_text("验证码输错次数过多，已失效，请重新获取。 (FORBIDDEN)")
    await snapshot(phone, "bind-sms-failed")
    await give_code(phone, code)  # the right code, too late: the challenge is spent
    await expect(alert).to_contain_text("已失效")
    await ask_code(phone, "重新获取验证码")
    await give_code(phone, await texted_code(engine, clock, hub))
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()


async def test_a_binding_made_before_the_utility_asked_is_verified_from_its_page(
    phone: Page, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await phone.goto(launch_link(clock))
    await bind(phone, ACCOUNT)  # no proof asked yet
    await set_mode(engine, clock, hub, Verification.SMS)
    await phone.get_by_role("link", name="我的户号").click()
    await expect(phone.locator(".card")).to_contain_text("未验证")
    await phone.get_by_text(ACCOUNT_TITLE).click()
    await phone.get_by_role("link", name="去验证").click()
    await expect(phone.get_by_role("heading", name="验证户号")).to_be_visible()
    await ask_code(phone)
    await phone.get_by_label("验证码", exact=True).fill(await texted_code(engine, clock, hub))
    await phone.get_by_role("button", name="验证", exact=True).click()
    await expect(phone.get_by_role("heading", name=ACCOUNT_TITLE)).to_be_visible()
    await expect(phone.get_by_text("未验证")).to_have_count(0)


async def _form(http: httpx.AsyncClient, **fields: str) -> dict[str, str]:
    page = await http.get("/h5/")
    found = _CSRF.search(page.text)
    assert found is not None
    return {"biller": "BJWATER", "account": ACCOUNT, "csrf_token": found.group(1), **fields}


async def test_choosing_a_utility_that_asks_for_a_proof_leads_to_its_step(
    http: httpx.AsyncClient, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    await open_session(http, clock)
    chosen = await http.post("/h5/bindings", data=await _form(http))
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/h5/verify?biller=BJWATER&account={ACCOUNT}"
    missing = await http.post("/h5/verify", data=await _form(http))  # no code given
    assert missing.status_code == 400
    assert "(MALFORMED_REQUEST)" in missing.text


async def test_too_many_codes_say_when_to_try_again(
    http: httpx.AsyncClient, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    await open_session(http, clock)
    for _ in range(5):
        sent = await http.post("/h5/verify/code", data=await _form(http))
        assert sent.status_code == 200, sent.text
        clock.advance(timedelta(minutes=1))
    braked = await http.post("/h5/verify/code", data=await _form(http))
    assert braked.status_code == 429
    # the first of the five leaves the hour at 16:30 Asia/Shanghai
    assert "尝试次数过多，请于 16:30 后再试。 (RATE_LIMITED)" in braked.text


async def test_too_many_wrong_names_say_when_to_try_again(
    http: httpx.AsyncClient, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.HOLDER_NAME)
    await open_session(http, clock)
    for _ in range(5):
        wrong_name = await http.post("/h5/verify", data=await _form(http, holder_name="张四"))
        assert wrong_name.status_code == 403
    braked = await http.post("/h5/verify", data=await _form(http, holder_name="张三"))
    assert braked.status_code == 429  # even the right name, until the window has passed
    assert "尝试次数过多，请于 15:45 后再试。 (RATE_LIMITED)" in braked.text


async def test_an_account_without_a_phone_is_phone_required(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, hub: Hub
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_mode(engine, clock, hub, Verification.SMS)
    await open_session(http, clock)
    refused = await http.post("/h5/verify/code", data=await _form(http))
    assert refused.status_code == 409
    assert "缴费单位未登记该户号的手机号" in refused.text and "(PHONE_REQUIRED)" in refused.text


async def test_a_code_is_never_logged_nor_put_back_into_a_page(
    http: httpx.AsyncClient, clock: FrozenClock, account: None, engine: AsyncEngine, hub: Hub
) -> None:
    await set_mode(engine, clock, hub, Verification.SMS)
    await open_session(http, clock)
    with capture_logs() as logs:
        await http.post("/h5/verify/code", data=await _form(http))
        code = await texted_code(engine, clock, hub)
        refused = await http.post("/h5/verify", data=await _form(http, sms_code=wrong(code)))
        bound = await http.post("/h5/verify", data=await _form(http, sms_code=code))
    assert refused.status_code == 403 and wrong(code) not in refused.text
    assert bound.status_code == 303
    shown: list[Any] = [*logs, *(await http.get(bound.headers["location"])).text.split()]
    assert not [entry for entry in shown if code in str(entry) or wrong(code) in str(entry)]

"""Signing in and out of the console in a real browser: passwords, lock-out, the second
factor, CSRF, sessions ended everywhere, and a role refused a page it may not open."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pyotp
from playwright.async_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import PASSWORD, sign_in, snapshot
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay.staff.service import LOCK_AFTER


async def audited(engine: AsyncEngine, action: str) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT actor, object_id FROM audit_log WHERE action = :a ORDER BY id"),
            {"a": action},
        )
        return [(r.actor, r.object_id) for r in rows]


async def test_sign_in_lands_in_the_console_in_chinese(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await page.goto("/console/me")  # not signed in: sent to sign in, then back here
    await expect(page).to_have_url("/console/sign-in?next=/console/me")
    await snapshot(page, "sign-in")
    await page.get_by_label("用户名").fill(people[Role.OPERATIONS])
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url("/console/me")
    await expect(page.get_by_role("heading", name="我的账号")).to_be_visible()
    await expect(page.get_by_text("运营", exact=True)).to_be_visible()
    assert await audited(engine, "user.sign_in") == [("operations", "operations")]
    cookie = next(c for c in await page.context.cookies() if c["name"] == "utilipay_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    shown = await page.goto("/console/me")
    assert shown is not None
    headers = await shown.all_headers()
    assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"


async def test_english_on_request(page: Page, people: dict[Role, str]) -> None:
    await sign_in(page, people[Role.AUDITOR])
    await page.goto("/console/me")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()


async def test_wrong_password_then_lock_out(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    name = people[Role.OPERATIONS]
    for _ in range(LOCK_AFTER):
        await sign_in(page, name, "not the password at all")
        await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await sign_in(page, name)  # the right password, but locked now
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    assert await audited(engine, "user.lock") == [(name, name)]
    await sign_in(page, "no-such-person")  # the same answer for a name no one has
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")


async def test_second_factor_is_asked_and_a_code_works_once(
    page: Page, people: dict[Role, str], clock: FrozenClock, browser: Browser, console: str
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/me")
    secret = await page.locator("#totp-secret").inner_text()
    code = pyotp.TOTP(secret).at(clock.now())
    await page.get_by_label("动态码", exact=True).fill(code)
    await page.get_by_role("button", name="开启").click()
    await expect(page.get_by_role("status")).to_contain_text("二次验证已开启")
    await page.get_by_role("button", name="退出", exact=True).click()

    await sign_in(page, people[Role.OPERATIONS])
    await expect(page).to_have_url("/console/second-factor?next=/console/")
    await page.get_by_label("身份验证器中的动态码").fill(code)  # used to turn it on
    await page.get_by_role("button", name="继续").click()
    await expect(page.get_by_role("alert")).to_contain_text("动态码错误或已使用")
    clock.advance(timedelta(seconds=30))
    await page.get_by_label("身份验证器中的动态码").fill(pyotp.TOTP(secret).at(clock.now()))
    await page.get_by_role("button", name="继续").click()
    await page.goto("/console/me")
    await expect(page.get_by_role("heading", name="我的账号")).to_be_visible()


async def test_a_form_without_its_csrf_token_is_refused(
    page: Page, people: dict[Role, str], console: str
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=console, cookies=cookies) as client:
        forged = await client.post("/console/me/sign-out-everywhere", data={})
        assert forged.status_code == 403
        wrong = await client.post("/console/me/sign-out-everywhere", data={"csrf_token": "x"})
        assert wrong.status_code == 403
    await page.goto("/console/me")  # still signed in: the forged forms did nothing
    await expect(page.get_by_role("heading", name="我的账号")).to_be_visible()


async def test_sign_out_everywhere_ends_other_browsers(
    page: Page, people: dict[Role, str], browser: Browser, console: str
) -> None:
    other = await browser.new_context(base_url=console)
    elsewhere = await other.new_page()
    await sign_in(elsewhere, people[Role.AUDITOR])
    await sign_in(page, people[Role.AUDITOR])
    await page.goto("/console/me")
    await page.get_by_role("button", name="退出所有设备").click()
    await expect(page).to_have_url("/console/sign-in")
    await elsewhere.goto("/console/me")
    await expect(elsewhere).to_have_url("/console/sign-in?next=/console/me")
    await other.close()


async def test_a_role_is_refused_a_page_it_may_not_open_and_it_is_audited(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto("/console/audit")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("您无权打开此页面或执行此操作")
    assert await audited(engine, "console.refused") == [("customer-service", "/console/audit")]

"""The console's people, managed in a real browser by a platform administrator: a user
added with a first password shown once, who signs in with it; disabled (their session
ends at once); role and utility changed; a lock-out lifted, a lost second factor turned
off, a password reset; and the refusals: no one disables themselves, operations may not
open the page."""

from __future__ import annotations

import pyotp
from playwright.async_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.test_admin import reload_shows_no_secret
from utilipay.clock import FrozenClock
from utilipay.staff import service as users
from utilipay.staff import totp
from utilipay.staff.roles import Role
from utilipay.staff.service import LOCK_AFTER

LOST_PHONE_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


async def audit_of(engine: AsyncEngine, action: str) -> list[tuple[str, str, str]]:
    query = text("SELECT actor, object_id, reason FROM audit_log WHERE action = :a ORDER BY id")
    async with engine.connect() as conn:
        return [(r.actor, r.object_id, r.reason) for r in await conn.execute(query, {"a": action})]


async def user_id(engine: AsyncEngine, name: str) -> int:
    async with engine.connect() as conn:
        found = await users.find_by_name(conn, name)
    assert found is not None
    return found.id


async def test_admin_adds_a_user_who_signs_in_then_is_disabled_and_signed_out(
    page: Page, people: dict[Role, str], browser: Browser, console: str, engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/users")
    await page.get_by_label("用户名").fill("ops-zhao")
    await page.get_by_label("显示名").fill("赵敏")
    await page.get_by_label("角色").select_option("operations")
    await page.get_by_role("button", name="添加用户").click()
    first_password = (await page.locator("#shown-secret").inner_text()).strip()
    new_id = await user_id(engine, "ops-zhao")
    await reload_shows_no_secret(page, f"/console/users/{new_id}")

    theirs = await browser.new_context(base_url=console, locale="zh-CN")
    zhao = await theirs.new_page()
    await sign_in(zhao, "ops-zhao", first_password)
    await zhao.goto("/console/me")
    await expect(zhao.get_by_role("heading", name="我的账号")).to_be_visible()

    await page.locator("#standing-reason").fill("left the company")
    await page.get_by_role("button", name="停用").click()
    await expect(page.get_by_role("status")).to_contain_text("用户已停用")
    await zhao.goto("/console/me")  # their session ended with it
    await expect(zhao).to_have_url("/console/sign-in?next=/console/me")
    await theirs.close()
    assert (await audit_of(engine, "user.create"))[-1] == ("platform-admin", "ops-zhao", "")
    assert await audit_of(engine, "user.update") == [
        ("platform-admin", "ops-zhao", "left the company")
    ]
    await page.goto("/console/users")
    await expect(page.get_by_role("row", name="ops-zhao")).to_contain_text("已停用")
    await snapshot(page, "users")


async def test_admin_moves_someone_to_a_utility_and_gets_them_back_in(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock
) -> None:
    name = people[Role.CUSTOMER_SERVICE]
    someone = await user_id(engine, name)
    async with engine.begin() as conn:
        for _ in range(LOCK_AFTER):
            await users.authenticate(conn, clock, name, "wrong password")
        await totp.enable(conn, clock, someone, LOST_PHONE_SECRET, _code_now(clock))
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto(f"/console/users/{someone}")

    await page.get_by_label("角色", exact=True).select_option("utility_staff")
    await page.get_by_label("单位代码（仅公用事业单位员工）").fill("BJWATER")
    await page.locator("#role-reason").fill("moved to the water desk")
    await page.get_by_role("button", name="修改角色").click()
    await expect(page.get_by_role("status")).to_contain_text("角色和所属单位已修改")
    await page.locator("#unlock-reason").fill("called the desk")
    await page.get_by_role("button", name="解锁").click()
    await page.locator("#totp-reason").fill("lost phone")
    await page.get_by_role("button", name="重置二次验证").click()
    await page.get_by_label("新密码（留空则由平台生成并仅显示一次）").fill(
        "a fresh water desk pass"
    )
    await page.locator("#password-reason").fill("forgot it")
    await page.get_by_role("button", name="重置密码").click()
    await expect(page.get_by_role("status")).to_contain_text("密码已设置")

    async with engine.connect() as conn:
        now = await users.find(conn, someone)
    assert now.role is Role.UTILITY_STAFF and now.biller_id is not None
    assert not now.is_locked(clock.now()) and not now.totp_enabled
    assert await audit_of(engine, "user.unlock") == [("platform-admin", name, "called the desk")]
    assert await audit_of(engine, "user.totp_disable") == [("platform-admin", name, "lost phone")]
    assert await audit_of(engine, "user.password") == [("platform-admin", name, "forgot it")]
    await sign_in(page, name, "a fresh water desk pass")
    await page.goto("/console/me")
    await expect(page.get_by_role("heading", name="我的账号")).to_be_visible()


def _code_now(clock: FrozenClock) -> str:
    return pyotp.TOTP(LOST_PHONE_SECRET).at(clock.now())


async def test_an_admin_may_not_disable_themselves(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    admin = people[Role.PLATFORM_ADMIN]
    await sign_in(page, admin)
    await page.goto(f"/console/users/{await user_id(engine, admin)}")
    await page.locator("#standing-reason").fill("testing")
    await page.get_by_role("button", name="停用").click()
    await expect(page.get_by_role("alert")).to_contain_text("no one changes their own role")
    await expect(page.locator("#user-disabled")).to_have_text("否")
    assert await audit_of(engine, "user.update") == []
    await page.goto("/console/users")  # still signed in
    await expect(page.get_by_role("heading", name="用户管理")).to_be_visible()


async def test_operations_may_not_open_the_users_page(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    response = await page.goto("/console/users")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("您无权打开此页面或执行此操作")
    assert await audit_of(engine, "console.refused") == [
        ("operations", "/console/users", "role operations lacks users:manage")
    ]

"""Platform administration in a real browser: a utility and a channel added, their
secrets rotated (shown once: a reload shows them no more, the hub keeps them sealed),
an API token made and revoked; and the roles that may not do it refused."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from utilipay.access import service as tokens
from utilipay.billers import repository as billers
from utilipay.channels import repository as channels
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.staff.roles import Role


async def audit_of(engine: AsyncEngine, action: str) -> list[dict[str, object]]:
    query = text(
        "SELECT actor, object_id, reason, details, before, after FROM audit_log "
        "WHERE action = :a ORDER BY id"
    )
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query, {"a": action})]


async def raw_row(engine: AsyncEngine, table: str, code_column: str, code: str) -> str:
    """The row as the database holds it (sealed columns as stored), as text."""
    query = text(f"SELECT row_to_json(t)::text FROM {table} t WHERE {code_column} = :c")
    async with engine.connect() as conn:
        return str((await conn.execute(query, {"c": code})).scalar_one())


async def shown_secret(page: Page) -> str:
    return (await page.locator("#shown-secret").inner_text()).strip()


async def reload_shows_no_secret(page: Page, own_page: str) -> None:
    """A reload reads the object's own page: it neither sends the form again nor shows
    the secret."""
    response = await page.reload()
    assert response is not None and response.request.method == "GET"
    await expect(page).to_have_url(own_page)
    await expect(page.locator("#shown-secret")).to_have_count(0)


async def rotate_then_retire(page: Page, own_page: str, why: str, why_retire: str) -> str:
    """Rotate on the object's page: the new secret shown once, the old one still accepted
    until it is retired; the new secret."""
    await page.locator("#rotate-reason").fill(why)
    await page.get_by_role("button", name="轮换密钥").click()
    new = await shown_secret(page)
    await expect(page.locator("#accepted")).to_have_text("2")
    await reload_shows_no_secret(page, own_page)
    await page.locator("#retire-reason").fill(why_retire)
    await page.get_by_role("button", name="停用旧密钥").click()
    await expect(page.locator("#accepted")).to_have_text("1")
    return new


async def test_admin_adds_a_remote_utility_and_rotates_its_key(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/billers")
    await expect(page.get_by_role("link", name="BJWATER")).to_be_visible()
    await page.get_by_label("代码（A-Z、0-9）").fill("SZGAS")
    await page.get_by_label("名称", exact=True).fill("深圳燃气")
    await page.get_by_label("类别").select_option("gas")
    await page.get_by_label("接入方式").select_option("remote")
    await page.get_by_label("户号规则（正则表达式）").fill(r"\d{8}")
    await page.get_by_label("公用事业单位系统的基础地址").fill("https://gas.example.com/utilipay")
    await page.get_by_role("button", name="添加公用事业单位").click()

    await expect(page.get_by_role("heading", name="深圳燃气 (SZGAS)")).to_be_visible()
    first_key = await shown_secret(page)
    async with engine.connect() as conn:
        added = await billers.by_code(conn, "SZGAS")
    assert added is not None and added.remote is not None and added.remote.key == first_key
    assert first_key not in await raw_row(engine, "biller_connections", "base_url",
                                          "https://gas.example.com/utilipay")  # fmt: skip
    await reload_shows_no_secret(page, "/console/billers/SZGAS")

    new_key = await rotate_then_retire(
        page, "/console/billers/SZGAS", "annual key change", "the utility switched"
    )
    assert new_key != first_key
    async with engine.connect() as conn:
        rotated = await billers.by_code(conn, "SZGAS")
    assert rotated is not None and rotated.remote is not None
    assert rotated.remote.accepted_keys == (new_key,)
    rows = await audit_of(engine, "biller.update")
    assert [(r["actor"], r["reason"]) for r in rows] == [
        ("platform-admin", "annual key change"),
        ("platform-admin", "the utility switched"),
    ]
    assert new_key not in json.dumps(rows) and first_key not in json.dumps(rows)
    await page.get_by_label("公用事业单位系统的基础地址").fill("https://gas.example.com/v2")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_contain_text("已保存")
    async with engine.connect() as conn:
        moved = await billers.by_code(conn, "SZGAS")
    assert moved is not None and moved.remote is not None
    assert moved.remote.base_url == "https://gas.example.com/v2"
    await page.goto("/console/billers")
    await snapshot(page, "billers")


async def test_admin_suspends_and_resumes_a_utility_audited_before_and_after(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/billers/BJWATER")
    await page.locator("#status-reason").fill("contract paused")
    await page.get_by_role("button", name="暂停").click()
    await expect(page.locator("#biller-status")).to_have_text("已暂停")
    await page.locator("#status-reason").fill("contract renewed")
    await page.get_by_role("button", name="恢复").click()
    await expect(page.locator("#biller-status")).to_have_text("正常")
    changes = [
        (a["reason"], a["before"], a["after"]) for a in await audit_of(engine, "biller.update")
    ]
    assert changes == [
        ("contract paused", {"status": "ACTIVE"}, {"status": "SUSPENDED"}),
        ("contract renewed", {"status": "SUSPENDED"}, {"status": "ACTIVE"}),
    ]


async def test_a_rotation_without_a_reason_is_refused_and_changes_nothing(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/channels/WECHAT")
    csrf = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = await page.request.post(
        "/console/channels/WECHAT/secret", form={"csrf_token": csrf or "", "reason": "  "}
    )
    assert refused.status == 400
    assert "shown-secret" not in await refused.text()
    async with engine.connect() as conn:
        wechat = await channels.by_code(conn, "WECHAT")
    assert wechat is not None and wechat.previous_secret is None
    assert await audit_of(engine, "channel.update") == []


async def test_admin_adds_a_channel_edits_it_and_rotates_its_secret(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/channels")
    await page.get_by_label("代码（A-Z、0-9）").fill("UNIONPAY")
    await page.get_by_label("名称", exact=True).fill("云闪付")
    await page.get_by_role("button", name="添加渠道").click()
    first = await shown_secret(page)
    async with engine.connect() as conn:
        added = await channels.by_code(conn, "UNIONPAY")
    assert added is not None and added.secret == first
    assert first not in await raw_row(engine, "channels", "code", "UNIONPAY")
    await reload_shows_no_secret(page, "/console/channels/UNIONPAY")

    await page.get_by_label("名称", exact=True).fill("银联云闪付")
    await page.get_by_label("Webhook 地址（留空即无）").fill("https://union.example.com/hook")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("heading", name="银联云闪付 (UNIONPAY)")).to_be_visible()

    second = await rotate_then_retire(
        page, "/console/channels/UNIONPAY", "suspected leak", "the wallet moved to the new one"
    )
    assert second != first
    async with engine.connect() as conn:
        now = await channels.by_code(conn, "UNIONPAY")
    assert now is not None and now.accepted_secrets == (second,)
    rows = await audit_of(engine, "channel.update")
    assert [r["reason"] for r in rows] == ["", "suspected leak", "the wallet moved to the new one"]
    assert rows[0]["before"] == {"name": "云闪付", "webhook_url": None}
    assert rows[0]["after"] == {
        "name": "银联云闪付",
        "webhook_url": "https://union.example.com/hook",
    }
    assert first not in json.dumps(rows) and second not in json.dumps(rows)


async def test_admin_makes_a_token_shown_once_then_revokes_it(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock
) -> None:
    await sign_in(page, people[Role.PLATFORM_ADMIN])
    await page.goto("/console/tokens")
    await page.get_by_label("名称（持有者：人或系统）").fill("grafana")
    await page.get_by_label("metrics:read").check()
    await page.get_by_label("有效期至（可选）").fill("2030-06-30")
    await page.get_by_role("button", name="生成令牌").click()
    secret = await shown_secret(page)
    assert secret.startswith("upt_")
    async with engine.connect() as conn:
        made = await tokens.find(conn, secret)
    assert made is not None and made.scopes == ("metrics:read",)
    assert made.expires_at == datetime(2030, 7, 1, tzinfo=SHANGHAI)  # when the 30th ends
    assert made.refusal(clock.now()) is None
    await reload_shows_no_secret(page, "/console/tokens")

    await page.get_by_label("撤销原因 grafana").fill("replaced by the new dashboard")
    await page.get_by_role("button", name="撤销 grafana").click()
    await expect(page.get_by_role("status")).to_contain_text("令牌已撤销")
    async with engine.connect() as conn:
        revoked = await tokens.find(conn, secret)
    assert revoked is not None and revoked.refusal(clock.now()) == "API token grafana was revoked"
    [row] = await audit_of(engine, "token.revoke")
    assert (row["actor"], row["reason"]) == ("platform-admin", "replaced by the new dashboard")


@pytest.mark.parametrize(
    "path", ["/console/billers", "/console/channels/WECHAT", "/console/tokens"]
)
async def test_operations_may_not_administer_the_platform(
    page: Page, people: dict[Role, str], engine: AsyncEngine, path: str
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    response = await page.goto(path)
    assert response is not None and response.status == 403
    refused = await audit_of(engine, "console.refused")
    assert [(r["actor"], r["object_id"]) for r in refused] == [("operations", path)]

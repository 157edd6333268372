"""Reconciliation in the console: a day's run started beside the page, its three-way
result with breaks and evidence, corrections dry-run then applied (audited), and the
roles that may only read it or not open it at all."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.recon.test_recon_corrections import hosted_breaks
from tests.recon.test_recon_run import D
from utilipay.console import jobs
from utilipay.staff.roles import Role


async def rows(engine: AsyncEngine, sql: str, **values: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), values))


async def start_run(page: Page) -> str:
    """Start the day's run from the page, wait for it, and open it; its path."""
    await page.goto("/console/recon")
    await page.get_by_label("营业日").first.fill(D.isoformat())
    await page.get_by_role("button", name="开始对账").click()
    await expect(page.locator(".job")).to_be_visible()  # the card, polled while it runs
    await jobs.wait_for_all()
    await expect(page.locator(".job")).to_contain_text("完成")
    await page.reload()
    await page.get_by_role("link", name="#").first.click()
    return urlparse(page.url).path


@pytest.fixture
async def started(
    page: Page, people: dict[Role, str], engine: AsyncEngine, world: dict[str, object]
) -> str:
    """Operations signed in, the day of breaks reconciled from the page; the run's path."""
    await hosted_breaks(engine, world)
    await sign_in(page, people[Role.OPERATIONS])
    return await start_run(page)


async def csrf(page: Page) -> str:
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


async def test_operations_run_a_day_dry_run_then_apply_its_corrections(
    page: Page, engine: AsyncEngine, started: str
) -> None:
    (run,) = await rows(engine, "SELECT id, actor FROM recon_runs")
    assert run.actor == "operations"
    await expect(page.get_by_role("heading", name=f"对账批次 #{run.id}")).to_be_visible()
    # the three ways: the channel's statement, the hub's classes, no utility statement
    await expect(page.get_by_text("WECHAT 2026-11-22")).to_be_visible()
    breaks = page.locator("table", has=page.locator("caption", has_text="长款"))
    await expect(breaks).to_contain_text("W-LONG")
    await expect(breaks).to_contain_text("W-FAILED")
    short = page.locator("table", has=page.locator("caption", has_text="短款"))
    await expect(short).to_contain_text("W-SHORT")
    await expect(page.get_by_role("cell", name="待应用").first).to_be_visible()

    await page.get_by_label("原因（记入审计日志）").fill("daily recon")
    await page.get_by_role("button", name="试运行").click()
    await expect(page.get_by_role("status")).to_contain_text("试运行")
    await expect(page.get_by_text("would open a refund to the channel")).to_be_visible()
    assert await rows(engine, "SELECT id FROM refunds") == []  # a dry run changes nothing
    await snapshot(page, "recon")

    await page.get_by_role("button", name="应用这些更正").click()
    await expect(page.get_by_role("status")).to_contain_text("已应用: 3 / 3")
    refunds = await rows(engine, "SELECT order_id, amount FROM refunds")
    assert [tuple(r) for r in refunds] == [("W-FAILED", 500)]
    audited = await rows(
        engine,
        "SELECT action, actor, reason FROM audit_log WHERE action LIKE 'recon.%' ORDER BY id",
    )
    assert [tuple(a) for a in audited] == [
        ("recon.run", "operations", ""),
        ("recon.refund", "operations", "daily recon"),
        ("recon.exception", "operations", "daily recon"),
        ("recon.exception", "operations", "daily recon"),
    ]


async def test_a_reason_is_required_to_apply(page: Page, engine: AsyncEngine, started: str) -> None:
    answer = await page.request.post(
        f"{started}/apply", form={"csrf_token": await csrf(page), "reason": " "}
    )
    assert answer.status == 400
    assert "a reason is required" in await answer.text()
    assert await rows(engine, "SELECT 1 FROM recon_corrections WHERE status = 'APPLIED'") == []


async def test_an_auditor_reads_runs_and_cannot_apply_or_start_them(
    page: Page, people: dict[Role, str], engine: AsyncEngine, started: str
) -> None:
    path = started
    await sign_in(page, people[Role.AUDITOR])
    await page.goto(path)
    await expect(page.get_by_role("heading", name="更正建议")).to_be_visible()
    await expect(page.get_by_role("button", name="试运行")).to_have_count(0)
    await page.goto("/console/recon")
    await expect(page.get_by_role("button", name="开始对账")).to_have_count(0)
    token = await csrf(page)
    applied = await page.request.post(f"{path}/apply", form={"csrf_token": token, "reason": "mine"})
    another = await page.request.post(
        "/console/recon/runs", form={"csrf_token": token, "day": D.isoformat()}
    )
    assert (applied.status, another.status) == (403, 403)
    assert await rows(engine, "SELECT 1 FROM recon_corrections WHERE status = 'APPLIED'") == []
    refused = await rows(
        engine, "SELECT object_id FROM audit_log WHERE action = 'console.refused' AND actor = :a",
        a=people[Role.AUDITOR],
    )  # fmt: skip
    assert [r.object_id for r in refused] == [f"{path}/apply", "/console/recon/runs"]


async def test_utility_staff_and_customer_service_may_not_open_reconciliation(
    page: Page, people: dict[Role, str]
) -> None:
    for role in (Role.UTILITY_STAFF, Role.CUSTOMER_SERVICE):
        await sign_in(page, people[role])
        answer = await page.goto("/console/recon")
        assert answer is not None and answer.status == 403
        await expect(page.get_by_role("link", name="对账")).to_have_count(0)

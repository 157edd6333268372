"""The exceptions queue in a real browser: reconciliation breaks a run left for a person,
resolved from the page as the admin API resolves them (an outcome that fits, a reason,
audited with before and after); an auditor sees the queue but may not act."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.test_sign_in import audited
from tests.payments.test_remote_payments import (  # noqa: F401 (the worker fixture)
    pay,
    resolve_until_final,
    status_of,
    worker,
)
from tests.recon.test_recon_corrections import apply, breaks  # noqa: F401 (the fixture)
from tests.utility import Utility
from utilipay.clock import FrozenClock
from utilipay.staff.roles import Role
from utilipay_tools.client import ChannelClient


async def open_items(engine: AsyncEngine) -> dict[str, int]:
    """The open items of the queue: order id → item id."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT coalesce(order_id, payment_id) AS o, id FROM payment_exceptions"
                 " WHERE resolved_at IS NULL")
        )  # fmt: skip
        return {r.o: r.id for r in rows}


async def resolutions(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM audit_log WHERE action = 'exception.resolve' ORDER BY id")
        )
        return list(rows)


def card(page: Page, what: str) -> Locator:
    return page.locator("section.card").filter(has_text=what)


async def resolve(item: Locator, outcome: str, reason: str, reference: str = "") -> None:
    await item.get_by_label("结果").select_option(outcome)
    if reference:
        await item.get_by_label("参考号").fill(reference)
    await item.get_by_label("原因（必填）").fill(reason)
    await item.get_by_role("button", name="处理").click()


async def test_operations_resolve_breaks_with_a_reason(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock,
    breaks: int,  # noqa: F811
) -> None:  # fmt: skip
    await apply(engine, clock, breaks)
    items = await open_items(engine)
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/exceptions")
    await expect(page.locator("section.card")).to_have_count(2)
    never_seen = card(page, "W-LONG")
    await expect(never_seen.get_by_role("heading")).to_have_text(
        f"异常 {items['W-LONG']} · CHANNEL_ONLY"
    )
    await expect(never_seen).to_contain_text("平台无此缴费")
    await expect(never_seen).to_contain_text("¥6.00")
    await expect(never_seen.get_by_label("结果").locator("option")).to_have_count(3)
    await snapshot(page, "exceptions")

    await resolve(never_seen, "REFUNDED", "   ", reference="WXREF-1")  # a blank reason
    await expect(page.get_by_role("alert")).to_contain_text("请填写原因。")
    await resolve(card(page, "W-LONG"), "REFUNDED", "WeChat refunded the payer")
    await expect(page.get_by_role("alert")).to_contain_text("needs a reference")
    assert await resolutions(engine) == [] and len(await open_items(engine)) == 2

    await resolve(card(page, "W-LONG"), "REFUNDED", "WeChat refunded the payer", "WXREF-1")
    await expect(page.get_by_role("status")).to_have_text(f"异常 {items['W-LONG']} 已处理。")
    await expect(page.locator("section.card")).to_have_count(1)
    done = (await resolutions(engine))[0]
    assert (done.actor, done.object_id, done.reason) == (
        "operations", "WECHAT:W-LONG", "WeChat refunded the payer"
    )  # fmt: skip
    assert done.before == {"exception": items["W-LONG"], "kind": "CHANNEL_ONLY",
                           "resolution": None}  # fmt: skip
    assert done.after["resolution"] == "REFUNDED" and done.after["reference"] == "WXREF-1"

    short = card(page, "W-SHORT")
    await expect(short.get_by_label("结果").locator("option")).to_have_count(1)  # NO_ACTION
    await resolve(short, "NO_ACTION", "the channel took no money for it")
    await expect(page.get_by_text("异常队列为空。")).to_be_visible()
    assert await open_items(engine) == {}


async def test_an_auditor_sees_the_queue_but_may_not_resolve(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock,
    breaks: int,  # noqa: F811
) -> None:  # fmt: skip
    await apply(engine, clock, breaks)
    item = (await open_items(engine))["W-LONG"]
    await sign_in(page, people[Role.AUDITOR])
    await page.goto("/console/exceptions")
    await expect(page.locator("section.card")).to_have_count(2)
    await expect(page.get_by_role("button", name="处理")).to_have_count(0)

    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {
        "csrf_token": token or "",
        "outcome": "NO_ACTION",
        "reason": "looks fine",
    }
    refused = await page.request.post(f"/console/exceptions/{item}/resolve", form=form)
    assert refused.status == 403
    path = f"/console/exceptions/{item}/resolve"
    assert ("auditor", path) in await audited(engine, "console.refused")
    assert item in (await open_items(engine)).values()


async def test_customer_service_may_neither_see_nor_resolve(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock,
    breaks: int,  # noqa: F811
) -> None:  # fmt: skip
    await apply(engine, clock, breaks)
    item = (await open_items(engine))["W-LONG"]
    name = people[Role.CUSTOMER_SERVICE]
    await sign_in(page, name)
    response = await page.goto("/console/exceptions")
    assert response is not None and response.status == 403
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {
        "csrf_token": token or "", "outcome": "REFUNDED", "reason": "payer asked", "reference": "X"
    }  # fmt: skip
    refused = await page.request.post(f"/console/exceptions/{item}/resolve", form=form)
    assert refused.status == 403
    assert (name, f"/console/exceptions/{item}/resolve") in await audited(engine, "console.refused")
    assert await resolutions(engine) == []


async def test_a_reversal_the_utility_confirms_written_off_by_phone(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock,
    wechat: ChannelClient, utility: Utility, worker: Any,  # noqa: F811
) -> None:  # fmt: skip
    utility.fail_with("drop_response=1")  # the charge's answer is lost
    pending = await pay(wechat)
    utility.fail_with("error=1")  # and every confirm and refund after it
    clock.set((await status_of(engine, pending["id"])).resolve_by)
    await resolve_until_final(worker, clock, engine, pending["id"])
    item = (await open_items(engine))[pending["id"]]

    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/exceptions?kind=REVERSAL")
    reversal = card(page, pending["id"])
    await expect(reversal).to_contain_text("refund unanswered")
    await reversal.get_by_label("结果").select_option("WRITTEN_OFF")
    await reversal.get_by_label("原因（必填）").fill("utility ops (Li) confirmed by phone")
    await reversal.get_by_role("button", name="处理").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "a write-off needs the utility's serial"
    )
    reversal = card(page, pending["id"])
    await reversal.get_by_label("结果").select_option("WRITTEN_OFF")
    await reversal.get_by_label("缴费单位流水号（已销账时填写）").fill("MANUAL-1")
    await reversal.get_by_label("原因（必填）").fill("utility ops (Li) confirmed by phone")
    await reversal.get_by_role("button", name="处理").click()
    await expect(page.get_by_role("status")).to_have_text(f"异常 {item} 已处理。")

    await page.goto(f"/console/payments/{pending['id']}")
    request = page.locator("section").filter(has=page.get_by_role("heading", name="缴费请求"))
    await expect(request).to_contain_text("成功")
    await expect(request).to_contain_text("MANUAL-1")
    queued = page.locator("section").filter(has=page.get_by_role("heading", name="处理过程"))
    await expect(queued.locator("tbody")).to_contain_text("WRITTEN_OFF")
    await expect(queued.locator("tbody")).to_contain_text("operations")
    calls = page.locator("section").filter(
        has=page.get_by_role("heading", name="与缴费单位的报文交互")
    )
    await expect(calls.locator("tbody tr").filter(has_text="refund")).to_have_count(3)

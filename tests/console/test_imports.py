"""Imports in the browser: bills and meter readings uploaded and run beside the page; a file
with bad lines imports nothing and its card names every bad line; the upload size; who may
import what."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.conftest import sign_in, snapshot
from tests.console.payers import audited
from tests.helpers import ACCOUNT, HEADER, bill_line
from tests.readings.test_readings_reads import METERS_HEADER, READS_HEADER, power_biller
from tests.recon.test_recon_sources_import import DATA as RECON_DATA
from utilipay.clock import FrozenClock
from utilipay.console import jobs as console_jobs
from utilipay.console.pages.imports import MAX_FILE
from utilipay.staff.roles import Role

WATER_METER = f"BJWATER,{ACCOUNT},张三,W1,water,m3,total,6,1,2026-01-01T00:00:00+08:00,"


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def _upload(page: Page, name: str, content: bytes, kind: str = "账单（CSV）") -> None:
    await page.goto("/console/imports")
    await page.get_by_label(kind).check()
    await page.get_by_label("文件（最大").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    await page.get_by_role("button", name="上传并导入").click()
    await console_jobs.wait_for_all()


async def test_utility_staff_import_their_bills(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    lines = [bill_line("B202611-0001"), bill_line("B202611-0002", account="0112345679")]
    await _upload(page, "bills.csv", (HEADER + "\n".join(lines) + "\n").encode())
    await expect(page.locator(".job")).to_contain_text("已完成", timeout=5000)
    await expect(page.locator(".job")).to_contain_text("bills_added 2")
    assert await _count(engine, "bills") == 2
    [entry] = await audited(engine, "bills.import")
    assert (entry.actor, entry.object_id, entry.reason) == ("utility-staff", "BJWATER", "bills.csv")


async def test_a_file_with_bad_lines_imports_nothing_and_names_each(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.UTILITY_STAFF])
    lines = [
        bill_line("B202611-0001"),
        bill_line("B202611-0002", amount=0),  # line 3
        bill_line("B202611-0003"),
        bill_line("B202611-0004", period="2026-13"),  # line 5
        bill_line("B202611-0005").replace("BJWATER", "BJGAS"),  # line 6: not theirs
    ]
    await _upload(page, "bad.csv", (HEADER + "\n".join(lines) + "\n").encode())
    card = page.locator(".job")
    await expect(card).to_contain_text("失败", timeout=5000)
    await expect(card).to_contain_text("3 bad line(s), nothing imported")
    await expect(card).to_contain_text("line 3: amount 0 must be")
    await expect(card).to_contain_text("line 5: period '2026-13' must be YYYY-MM")
    await expect(card).to_contain_text("line 6: biller BJGAS, but this import is for BJWATER")
    assert await _count(engine, "bills") == 0
    await page.goto("/console/imports")  # the card stays in the list of recent imports
    await expect(page.get_by_role("row", name="bad.csv")).to_contain_text("line 6")
    await snapshot(page, "imports")


async def test_operations_import_meters_then_their_reads(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    readings = "抄表数据（表计或读数 CSV，Green Button XML）"
    await _upload(page, "meters.csv", f"{METERS_HEADER}\n{WATER_METER}\n".encode(), readings)
    await expect(page.locator(".job")).to_contain_text("已完成", timeout=5000)
    reads = [f"BJWATER,W1,total,2026-11-{d:02}T00:00:00+08:00,{100 + d}," for d in (1, 2)]
    await _upload(page, "reads.csv", "\n".join([READS_HEADER, *reads, ""]).encode(), readings)
    await expect(page.locator(".job")).to_contain_text("已完成", timeout=5000)
    assert (await _count(engine, "meters"), await _count(engine, "meter_reads")) == (1, 2)


async def test_operations_import_a_channel_statement(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/imports")
    await page.get_by_label("对账单（渠道、公用事业单位或银行）").check()
    await page.get_by_label("对账单所属方").fill("WECHAT")
    trade_bill = RECON_DATA / "tradebill_ALL_v3_sample.csv"
    await page.get_by_label("文件（最大").set_input_files(str(trade_bill))
    await page.get_by_role("button", name="上传并导入").click()
    await console_jobs.wait_for_all()
    await expect(page.locator(".job")).to_contain_text("已完成", timeout=5000)
    await expect(page.locator(".job")).to_contain_text("party WECHAT, lines 3")
    [entry] = await audited(engine, "statement.import")
    assert entry.actor == "operations"


async def test_a_file_over_the_limit_is_refused_with_the_limit(
    page: Page, people: dict[Role, str], engine: AsyncEngine
) -> None:
    await sign_in(page, people[Role.OPERATIONS])
    await page.goto("/console/imports")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    big = HEADER.encode() + b"x" * MAX_FILE
    answer = await page.request.post(
        "/console/imports/upload",
        multipart={
            "csrf_token": token,
            "kind": "bills",
            "file": {"name": "big.csv", "mimeType": "text/csv", "buffer": big},
        },
    )
    assert answer.status == 413
    assert "文件过大：请拆分为每个不超过 15 MB 的文件。" in await answer.text()
    assert await _count(engine, "staff_jobs") == 0


async def test_who_may_not_import(
    page: Page, people: dict[Role, str], engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    await power_biller(engine, clock)  # another utility
    await hub.directory.reload()
    await sign_in(page, people[Role.CUSTOMER_SERVICE])
    response = await page.goto("/console/imports")
    assert response is not None and response.status == 403
    await sign_in(page, people[Role.UTILITY_STAFF])
    await page.goto("/console/imports")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    other = await page.request.post(
        "/console/imports/upload",
        multipart={
            "csrf_token": token,
            "kind": "bills",
            "biller": "BJPOWER",
            "file": {"name": "b.csv", "mimeType": "text/csv", "buffer": HEADER.encode()},
        },
    )
    assert other.status == 403
    refused = [(r.actor, r.object_id) for r in await audited(engine, "console.refused")]
    statement = await page.request.post(
        "/console/imports/upload",
        multipart={
            "csrf_token": token,
            "kind": "statements",
            "biller": "BJWATER",
            "file": {"name": "s.csv", "mimeType": "text/csv", "buffer": b"x"},
        },
    )
    assert statement.status == 403  # a statement is not one utility's: operations import it
    refused = [(r.actor, r.object_id) for r in await audited(engine, "console.refused")]
    assert refused == [
        ("customer-service", "/console/imports"),
        ("utility-staff", "/console/imports/upload"),
        ("utility-staff", "/console/imports/upload"),
    ]
    assert await _count(engine, "staff_jobs") == 0

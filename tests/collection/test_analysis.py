"""The monthly collection analysis: its schedule (the first working day of the next
month, by the mainland calendar), made once per utility and month however many workers
run the pass, on demand (replaced, audited), its warnings and largest arrears as reports,
and the document those reports make."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collection.sample import WATER, hand_made, hand_made_analysis
from tests.conftest import water
from tests.helpers import audited_actors, bill_line, import_bills
from utilipay.billers.schemas import Biller
from utilipay.billing import latefee_service
from utilipay.billing.arrears import largest_arrears
from utilipay.billing.latefees import LateFeeRule
from utilipay.clock import FrozenClock
from utilipay.collection import analyses
from utilipay.collection.analyses import due_month, make_due_analyses, make_now
from utilipay.collection.analysis import (
    analysis_pdf,
    arrears_report,
    month_of,
    month_period,
    warnings_report,
)
from utilipay.errors import DomainError
from utilipay.worker.jobs import build_app

NOVEMBER = month_period(date(2026, 11, 1))


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2027, 2, 1), date(2027, 1, 1)),  # a Monday: the first working day (weekdays)
        (date(2026, 12, 1), date(2026, 11, 1)),  # a Tuesday
        (date(2026, 10, 1), None),  # National Day: not before the 8th
        (date(2026, 10, 7), None),
        (date(2026, 10, 8), date(2026, 9, 1)),
        (date(2026, 10, 20), date(2026, 9, 1)),  # a worker down on the 8th makes it later
        (date(2026, 1, 3), None),  # New Year's holiday
        (date(2026, 1, 4), date(2025, 12, 1)),  # a Sunday worked in exchange (调休)
    ],
)
def test_the_analysis_is_due_from_the_first_working_day(today: date, due: date | None) -> None:
    assert due_month(today) == due


def test_a_month_is_read_as_yyyy_mm() -> None:
    assert month_of("2026-02") == date(2026, 2, 1)
    assert month_period(date(2028, 2, 1)).end == date(2028, 2, 29)
    assert month_period(date(2026, 12, 1)).end == date(2026, 12, 31)
    with pytest.raises(DomainError, match="not YYYY-MM"):
        month_of("2026-13")


def test_the_document_has_the_reports_the_warnings_and_the_title() -> None:
    pdf = analysis_pdf(
        hand_made_analysis(), lambda w: {"Monthly collection analysis": "月度回收分析"}.get(w, w)
    )
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    text_of_all = "\n".join(p.extract_text() for p in pages)
    assert "月度回收分析 BJWATER 北京自来水 2026-11" in text_of_all
    assert "2026-11-01 – 2026-11-30" in text_of_all
    assert "rate below last month" in text_of_all and "2026-11-09" in text_of_all
    assert "1,234,567.89" in text_of_all  # the collection report's billed amount, in yuan
    assert len(pages) >= 3  # each report from a new page


def test_no_warnings_and_no_arrears_say_so() -> None:
    assert warnings_report([], WATER, NOVEMBER).notes == ("no warnings this month",)
    empty = arrears_report([], {}, WATER, NOVEMBER)
    assert empty.empty and empty.notes == ("no arrears",)


async def test_the_largest_arrears_at_the_month_s_end(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    water = world["water"]
    assert isinstance(water, Biller)
    await import_bills(
        engine,
        clock,
        bill_line("B1", "0112345678", 30_000, due="2026-10-15"),
        bill_line("B2", "0112345678", 20_000, due="2026-11-20"),
        bill_line("B3", "0212345678", 90_000, due="2026-11-29", holder="李四"),
        bill_line("B7", "0612345678", 95_000, due="2026-11-30", holder="孙八"),  # due that day
        bill_line("B4", "0312345678", 99_000, due="2026-12-05", holder="王五"),  # not yet due
        bill_line("B5", "0412345678", 80_000, due="2026-11-10", holder="赵六"),  # paid in time
        bill_line("B6", "0512345678", 70_000, due="2026-11-10", holder="钱七"),  # paid late
    )
    async with engine.begin() as conn:
        paid = (
            "UPDATE bills SET status = 'PAID', payment_id = 'P-' || bill_no, paid_at = :at"
            " WHERE bill_no = :no"
        )
        await conn.execute(
            text(paid), {"at": datetime(2026, 11, 30, 15, 59, tzinfo=UTC), "no": "B5"}
        )
        await conn.execute(
            text(paid), {"at": datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "no": "B6"}
        )
    end = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    async with engine.connect() as conn:
        owing = await largest_arrears(conn, {water.id}, NOVEMBER.end, end, top=3)
    assert [(a.account_no, a.bills, a.owed) for a in owing] == [
        ("0212345678", 1, 90_000),
        ("0512345678", 1, 70_000),  # paid after the month ended: owing at its end
        ("0112345678", 2, 50_000),
    ]
    report = arrears_report(owing, {water.id: "BJWATER"}, WATER, NOVEMBER)
    (table,) = report.tables
    assert table.rows[2] == (
        "BJWATER", "0112345678", "张三", 2, 50_000, 0, date(2026, 10, 15), 46
    )  # fmt: skip


async def test_the_largest_arrears_carry_their_late_fee_at_the_month_s_end(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    water_id = water(world).id
    await import_bills(
        engine,
        clock,
        bill_line("B1", "0112345678", 30_000, 500, due="2026-10-15"),  # 500 fen imported
        bill_line("B2", "0112345678", 20_000, due="2026-11-20"),
        bill_line("B3", "0212345678", 70_000, due="2026-11-10", holder="李四"),  # paid late
        bill_line("B4", "0312345678", 10_000, due="2026-11-01", holder="王五"),  # not in the top
    )
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=5)
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="test", reason="")
        await latefee_service.waive(conn, clock, "BJWATER", "B1", 80, actor="li", reason="r")
        await conn.execute(
            text("UPDATE bills SET status = 'PAID', payment_id = 'P3', paid_at = :at"
                 " WHERE bill_no = 'B3'"),
            {"at": datetime(2026, 12, 2, 2, tzinfo=UTC)},
        )  # fmt: skip
    end = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    async with engine.connect() as conn:
        owing = await largest_arrears(conn, {water_id}, NOVEMBER.end, end, top=2)
    # on 2026-11-30 at 1‰ a day after 5 days of grace: B1 41 days of 300 yuan (12.30) + 5.00
    # imported − 0.80 waived; B2 5 days of 200 yuan (1.00); B3 15 days of 700 yuan (10.50),
    # though paid later
    assert [(a.account_no, a.owed, a.late_fee) for a in owing] == [
        ("0212345678", 70_000, 1_050),
        ("0112345678", 50_000, 1_230 + 500 - 80 + 100),
    ]
    (table,) = arrears_report(owing, {water_id: "BJWATER"}, WATER, NOVEMBER).tables
    assert [c.key for c in table.columns][4:6] == ["owed", "late_fee"]
    assert [row[5] for row in table.rows] == [1_050, 1_750]


async def _rows(engine: AsyncEngine) -> list[tuple[int, date, str]]:
    async with engine.connect() as conn:
        query = "SELECT biller_id, month, made_by FROM collection_analyses ORDER BY 1, 2"
        return [tuple(r) for r in await conn.execute(text(query))]


async def test_the_worker_makes_each_month_once_under_concurrency(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    water = world["water"]
    assert isinstance(water, Biller)
    made: list[tuple[int, date]] = []
    clock.set(datetime(2026, 10, 7, 2, tzinfo=UTC))  # a holiday: nothing due yet
    assert await make_due_analyses(engine, clock, hand_made(made)) == 0
    clock.set(datetime(2026, 10, 8, 1, tzinfo=UTC))  # 09:00 on the first working day
    passes = await asyncio.gather(
        *(make_due_analyses(engine, clock, hand_made(made)) for _ in range(4))
    )
    assert sum(passes) == 1 and made == [(water.id, date(2026, 9, 1))]
    assert await _rows(engine) == [(water.id, date(2026, 9, 1), "worker")]
    clock.set(datetime(2026, 10, 9, 1, tzinfo=UTC))  # the next day's passes: already made
    assert await make_due_analyses(engine, clock, hand_made(made)) == 0
    async with engine.connect() as conn:
        pdf = await analyses.document(conn, water.id, date(2026, 9, 1), "pdf")
        xlsx = await analyses.document(conn, water.id, date(2026, 9, 1), "xlsx")
        listed = await analyses.stored(conn, {water.id})
        others = await analyses.stored(conn, {water.id + 1})
    assert pdf is not None and pdf.startswith(b"%PDF-")
    assert xlsx == f"xlsx of {water.id} 2026-09-01".encode()
    assert [(s.month, s.pdf_bytes) for s in listed] == [(date(2026, 9, 1), len(pdf))]
    assert others == []


async def test_made_on_demand_replaces_and_is_audited(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    water = world["water"]
    assert isinstance(water, Biller)
    made: list[tuple[int, date]] = []
    clock.set(datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert await make_due_analyses(engine, clock, hand_made(made)) == 1
    async with engine.begin() as conn:
        await make_now(
            conn, clock, water.id, date(2026, 11, 1), hand_made(made), actor="utility-staff"
        )
    assert await _rows(engine) == [(water.id, date(2026, 11, 1), "utility-staff")]
    assert await audited_actors(engine, "collection.analysis_made") == ["utility-staff"]


def test_the_worker_runs_the_pass_hourly_from_eight_in_shanghai() -> None:
    app = build_app("postgresql://nobody@localhost/none")  # never connected
    (cron,) = [
        task.cron
        for (name, _), task in app.periodic_registry.periodic_tasks.items()
        if name == "collection_analyses"
    ]
    assert cron == "0 0-12 * * *"  # UTC: 08:00-20:00 in Shanghai, until each utility's is made

"""Importing a bills CSV: all of it or nothing, bad lines named by number."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import HEADER, bill_line, import_bills
from utilipay.billing import csvfile
from utilipay.clock import FrozenClock
from utilipay.common.files import FileRejected


async def bill_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM bills"))).scalar_one())


async def test_a_good_file_adds_accounts_bills_and_issued_events(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    report = await import_bills(
        engine,
        clock,
        bill_line("B1"),
        bill_line("B2", period="2026-09"),
        bill_line("B3", account="2598765432", holder="李四"),
    )
    assert (report.bills_added, report.accounts_added) == (3, 2)
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                text("SELECT payload FROM outbox_events WHERE event_type = 'bill.issued'")
            )
        ).all()
    assert sorted(e.payload["bill_no"] for e in events) == ["B1", "B2", "B3"]


def parse_errors(content: str | bytes) -> list[str]:
    data = content.encode() if isinstance(content, str) else content
    with pytest.raises(FileRejected) as caught:
        csvfile.parse_bills(data, source="bills.csv")
    return [str(e) for e in caught.value.errors]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("BJWATER,0112345678,张三,B1,2026-10,123.45,0,2026-11-30", "not a whole number of fen"),
        ("BJWATER,0112345678,张三,B1,2026-10,0,0,2026-11-30", "amount 0"),
        ("BJWATER,0112345678,张三,B1,2026-10,-5,0,2026-11-30", "amount -5"),
        ("BJWATER,0112345678,张三,B1,2026-10,100,-1,2026-11-30", "late_fee -1"),
        ("BJWATER,0112345678,张三,B1,2026-13,100,0,2026-11-30", "period"),
        ("BJWATER,0112345678,张三,B1,2026-10,100,0,2026-02-30", "due_date"),
        ("BJWATER,0112345678,,B1,2026-10,100,0,2026-11-30", "holder is empty"),
        ("BJWATER,0112345678,张三,B 1,2026-10,100,0,2026-11-30", "bill_no"),
        ("BJWATER,0112345678,张三,B1,2026-10,100,0", "7 fields"),
        ("BJWATER,0112345678,张三,B1,2026-10,1e3,0,2026-11-30", "not a whole number"),
    ],
)
def test_each_bad_line_is_named(line: str, message: str) -> None:
    errors = parse_errors(HEADER + bill_line("B0") + "\n" + line + "\n" + bill_line("B9") + "\n")
    assert len(errors) == 1
    assert errors[0].startswith("line 3: ")
    assert message in errors[0]


def test_every_bad_line_is_reported_not_just_the_first() -> None:
    content = HEADER + "\n".join(
        [bill_line("B1"), "BJWATER,x,y,B2,bad,1,0,2026-11-30", bill_line("B1"), "garbage"]
    )
    errors = parse_errors(content + "\n")
    assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5"]
    assert "repeats line 2" in errors[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "header"),
        (b"biller,account\n", "header"),
        (HEADER.encode(), "no bills"),
        ((HEADER + bill_line("B1") + "\n").encode("gbk"), "not UTF-8"),
        (HEADER.encode() + b'BJWATER,"unterminated\n', "not CSV"),
        (
            HEADER.encode() + b"BJWATER,0112345678,\x00,B1,2026-10,1,0,2026-11-30\n",
            "control character",
        ),
    ],
)
def test_broken_files(content: bytes, message: str) -> None:
    errors = parse_errors(content)
    assert any(message in e for e in errors), errors


def test_a_utf8_bom_and_blank_lines_are_fine() -> None:
    rows = csvfile.parse_bills(("\ufeff" + HEADER + "\n" + bill_line("B1") + "\n\n").encode())
    assert [r.bill.bill_no for r in rows] == ["B1"]
    assert rows[0].line == 3


async def test_database_checks_reject_the_whole_file(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    lines = [
        bill_line("B1"),
        "NOSUCH,0112345678,张三,B2,2026-10,100,0,2026-11-30",
        bill_line("B3", account="1234567890"),
    ]
    with pytest.raises(FileRejected) as caught:
        await import_bills(engine, clock, *lines)
    assert [str(e) for e in caught.value.errors] == [
        "line 3: unknown biller NOSUCH",
        "line 4: account 1234567890 fails BJWATER's account rule",
    ]
    assert await bill_count(engine) == 0


async def test_reimporting_is_harmless_but_changed_content_is_refused(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    await import_bills(engine, clock, bill_line("B1"), bill_line("B2"))
    again = await import_bills(engine, clock, bill_line("B1"), bill_line("B2"), bill_line("B3"))
    assert (again.bills_added, again.bills_unchanged) == (1, 2)
    with pytest.raises(FileRejected) as caught:
        await import_bills(engine, clock, bill_line("B4"), bill_line("B1", amount=99))
    assert str(caught.value.errors[0]) == "line 3: bill B1 exists with different content"
    assert await bill_count(engine) == 3


async def test_a_new_holder_name_renames_the_account(
    engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    await import_bills(engine, clock, bill_line("B1"))
    report = await import_bills(engine, clock, bill_line("B2", holder="王五"))
    assert report.accounts_renamed == 1
    async with engine.connect() as conn:
        holder = (await conn.execute(text("SELECT holder_name FROM customer_accounts"))).scalar()
    assert holder == "王五"


def test_a_file_for_one_biller_names_the_lines_of_another() -> None:
    data = HEADER + "\n".join([bill_line("B1"), bill_line("B2").replace("BJWATER", "BJGAS")])
    read = csvfile.read_bills(data.encode(), source="bills.csv", biller="BJWATER")
    assert [r.bill.bill_no for r in read.rows] == ["B1"]
    assert [str(e) for e in read.errors] == ["line 3: biller BJGAS, but this import is for BJWATER"]
    assert csvfile.read_bills(data.encode()).errors == []  # without a biller, any

"""Meter reads from CSV: validation (each error names its line and imports nothing),
rollover by the meter's digits, estimates, gaps, re-import, and the daily usage they make.

The helpers at the top are shared with the other ``test_readings_*`` files.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.clock import Clock, FrozenClock
from utilipay.common.files import FileRejected
from utilipay.readings import files
from utilipay.readings.schemas import ImportReport

METERS_HEADER = (
    "biller,account,holder,meter,service,unit,registers,digits,multiplier,installed_at,removed_at"
)
READS_HEADER = "biller,meter,register,read_at,value,quality"
METERS = [
    "BJPOWER,0100000001,张三,M1,electricity,kWh,total,6,1,2026-01-01T00:00:00+08:00,",
    "BJPOWER,0100000002,李四,M2,electricity,kWh,peak|flat|valley,6,1,2026-01-01T00:00:00+08:00,",
    "BJPOWER,0100000003,王五,M3,electricity,kWh,total,4,1,2026-01-01T00:00:00+08:00,",
]


async def power_biller(engine: AsyncEngine, clock: Clock, code: str = "BJPOWER") -> Biller:
    async with engine.begin() as conn:
        return await billers_service.add_biller(
            conn,
            clock,
            code=code,
            name="国网北京电力",
            category=Category.ELECTRICITY,
            mode=IntegrationMode.HOSTED,
            account_rule=r"[0-9]{10}",
            actor="test",
        )


async def import_data(
    engine: AsyncEngine, clock: Clock, data: bytes, source: str = "file.csv", **options: Any
) -> ImportReport:
    async with engine.begin() as conn:
        return await files.import_file(
            conn, clock, data, source=source, actor="ops-alice", **options
        )


async def import_lines(
    engine: AsyncEngine, clock: Clock, header: str, *lines: str, **options: Any
) -> ImportReport:
    return await import_data(engine, clock, "\n".join([header, *lines, ""]).encode(), **options)


async def reads(engine: AsyncEngine, clock: Clock, *lines: str) -> ImportReport:
    return await import_lines(engine, clock, READS_HEADER, *lines, source="reads.csv")


async def rejected(engine: AsyncEngine, clock: Clock, *lines: str) -> list[str]:
    with pytest.raises(FileRejected) as caught:
        await reads(engine, clock, *lines)
    assert "nothing imported" in caught.value.detail
    return [str(e) for e in caught.value.errors]


async def daily(engine: AsyncEngine, account: str = "0100000001") -> dict[Any, Any]:
    """``daily_usage`` of an account: {(day, register): (quantity, estimated)}."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT day, register, quantity, estimated FROM daily_usage"
                " WHERE account_no = :a ORDER BY day, register"
            ),
            {"a": account},
        )
        return {(r.day, r.register): (r.quantity, r.estimated) for r in rows}


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    tables = ("reading_imports", "meters", "meter_reads", "meter_intervals", "meter_usage",
              "daily_usage")  # fmt: skip
    async with engine.connect() as conn:
        return {
            t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one())
            for t in tables
        }


def read(at: str, value: str, meter: str = "M1", register: str = "total", q: str = "") -> str:
    return f"BJPOWER,{meter},{register},2026-{at}+08:00,{value},{q}"


@pytest.fixture
async def metered(engine: AsyncEngine, clock: FrozenClock) -> ImportReport:
    """BJPOWER with meters M1 (6 digits), M2 (time of use) and M3 (4 digits)."""
    await power_biller(engine, clock)
    return await import_lines(engine, clock, METERS_HEADER, *METERS, source="meters.csv")


D = Decimal


async def test_registering_meters_opens_their_accounts(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    assert metered.kind == "meters"
    assert (metered.counts["added"], metered.counts["accounts_added"]) == (3, 3)
    again = await import_lines(engine, clock, METERS_HEADER, *METERS)
    assert (again.counts["added"], again.counts["unchanged"]) == (0, 3)
    changed = METERS[0].replace(",6,1,", ",8,1,")
    with pytest.raises(FileRejected) as caught:
        await import_lines(engine, clock, METERS_HEADER, changed, "NOSUCH," + METERS[1][8:])
    assert [str(e) for e in caught.value.errors] == [
        "line 2: meter M1 is registered differently: digits is 6",
        "line 3: unknown biller NOSUCH",
    ]
    async with engine.connect() as conn:
        holders = (await conn.execute(text("SELECT count(*) FROM customer_accounts"))).scalar()
    assert holders == 3


async def test_the_worked_example_of_daily_usage(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    """Daily reads at midnight give each day its usage; a read in the middle of a day
    leaves that day out until the next read completes it; a 36-hour span is a gap,
    spread by time and flagged estimated."""
    report = await reads(
        engine,
        clock,
        read("11-18T00:00:00", "1000.00"),
        read("11-19T00:00:00", "1012.50"),
        read("11-20T00:00:00", "1020.75"),
        read("11-21T12:00:00", "1040.75", q="estimated"),
    )
    assert report.counts["added"] == 4
    assert {w.code for w in report.warnings} == {"estimated", "gap"}
    assert {(w.line, w.code) for w in report.warnings} == {(5, "estimated"), (5, "gap")}
    assert await daily(engine) == {
        (date(2026, 11, 18), "total"): (D("12.500"), False),
        (date(2026, 11, 19), "total"): (D("8.250"), False),
        (date(2026, 11, 20), "total"): (D("13.333"), True),  # 20 kWh over 36 h: 24 h of it
    }
    await reads(engine, clock, read("11-22T00:00:00", "1046.75"))
    assert (await daily(engine))[(date(2026, 11, 21), "total")] == (D("12.667"), True)  # 6.667 + 6
    assert sum(q for q, _ in (await daily(engine)).values()) == D("46.750")

    # the estimate is read for real: both spans it closes and opens are derived again
    actual = await reads(engine, clock, read("11-21T12:00:00", "1041.75", q="actual"))
    assert [w.code for w in actual.warnings] == ["replaces-estimate", "gap"]
    assert actual.counts["replaced"] == 1
    usage = await daily(engine)
    assert usage[(date(2026, 11, 20), "total")] == (D("14.000"), True)  # still a gap
    assert usage[(date(2026, 11, 21), "total")] == (D("12.000"), True)
    assert sum(q for q, _ in usage.values()) == D("46.750")


async def test_a_read_between_stored_reads_splits_their_span(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    await reads(engine, clock, read("11-18T00:00:00", "100"), read("11-20T00:00:00", "130"))
    assert await daily(engine) == {
        (date(2026, 11, 18), "total"): (D("15.000"), True),  # 48 h apart: a gap
        (date(2026, 11, 19), "total"): (D("15.000"), True),
    }
    await reads(engine, clock, read("11-19T00:00:00", "110"))
    assert await daily(engine) == {
        (date(2026, 11, 18), "total"): (D("10.000"), False),
        (date(2026, 11, 19), "total"): (D("20.000"), False),
    }


async def test_re_importing_a_file_changes_nothing(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    lines = [read(f"11-{d}T00:00:00", str(100 + d)) for d in range(10, 20)]
    first = await reads(engine, clock, *lines)
    before = await row_counts(engine), await daily(engine)
    again = await reads(engine, clock, *lines)
    assert (again.counts["added"], again.counts["unchanged"], again.counts["days"]) == (0, 10, 0)
    assert first.counts["days"] == 9
    after = await row_counts(engine), await daily(engine)
    assert after[1] == before[1]
    assert after[0] == {**before[0], "reading_imports": before[0]["reading_imports"] + 1}


async def test_a_bad_file_imports_nothing_and_names_every_bad_line(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    await reads(engine, clock, read("11-10T00:00:00", "900", meter="M3"))
    before = await row_counts(engine)
    errors = await rejected(
        engine,
        clock,
        read("11-18T00:00:00", "1000"),
        read("11-19T00:00:00", "990"),  # went down
        read("11-19T00:00:00", "abc", meter="M3"),
        read("11-20T00:00:00", "1010", meter="NOPE"),
        read("11-20T00:00:00", "1010", register="peak"),
        read("11-21T00:00:00", "1020"),
        read("11-11T00:00:00", "910", meter="M3"),  # good, but the file is not
    )
    assert errors == [
        "line 3: value 990 at 2026-11-19T00:00:00+08:00 is lower than 1000 at "
        "2026-11-18T00:00:00+08:00 and rollover cannot explain it",
        "line 4: value 'abc' is not a decimal number",
        "line 5: biller BJPOWER has no meter NOPE",
        "line 6: meter M1 has no register 'peak'",
    ]
    assert await row_counts(engine) == before


async def test_rollover_follows_the_meters_digits(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    """M3 counts to 9999 and starts again at 0: 9990 then 15 is 25 kWh. M1 counts to
    999999: the same two values are a register going backwards."""
    report = await reads(
        engine,
        clock,
        read("11-18T00:00:00", "9990", meter="M3"),
        read("11-19T00:00:00", "15", meter="M3"),
    )
    assert [(w.line, w.code) for w in report.warnings] == [(3, "rollover")]
    assert await daily(engine, "0100000003") == {
        (date(2026, 11, 18), "total"): (D("25.000"), False)
    }
    errors = await rejected(
        engine, clock, read("11-18T00:00:00", "9990"), read("11-19T00:00:00", "15")
    )
    assert errors == [
        "line 3: value 15 at 2026-11-19T00:00:00+08:00 is lower than 9990 at "
        "2026-11-18T00:00:00+08:00 and rollover cannot explain it"
    ]
    # a wrap that would mean 1,500 kWh in a day is not believed; a value past the
    # register's digits cannot have been read
    errors = await rejected(
        engine,
        clock,
        read("11-20T00:00:00", "9000", meter="M3"),
        read("11-21T00:00:00", "500", meter="M3"),
        read("11-21T12:00:00", "10000.5", meter="M3"),
    )
    assert errors == [
        "line 3: value 500 at 2026-11-21T00:00:00+08:00 is lower than 9000 at "
        "2026-11-20T00:00:00+08:00 and rollover cannot explain it",
        "line 4: value 10000.5 is beyond the meter's 4 digits",
    ]


async def test_duplicates(engine: AsyncEngine, clock: FrozenClock, metered: ImportReport) -> None:
    """The same read twice is counted once (and said); two values for one instant are an
    error, in the file or against what is stored."""
    report = await reads(
        engine,
        clock,
        read("11-18T00:00:00", "100"),
        read("11-19T00:00:00", "110"),
        read("11-19T00:00:00", "110"),
    )
    assert [str(w) for w in report.warnings] == ["line 4: repeats line 3; counted once"]
    assert report.counts["added"] == 2
    errors = await rejected(
        engine,
        clock,
        read("11-20T00:00:00", "120"),
        read("11-20T00:00:00", "121"),
        read("11-19T00:00:00", "111"),
    )
    assert errors == [
        "line 3: another value for the read of line 2",
        "line 4: a read at this time is stored with value 110.000",
    ]


async def test_estimated_reads_and_gaps_are_flagged(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    report = await reads(
        engine,
        clock,
        read("11-10T00:00:00", "100"),
        read("11-11T00:00:00", "104", q="estimated"),
        read("11-12T00:00:00", "110"),
        read("11-15T00:00:00", "140"),  # three days without a read
        read("11-16T00:00:00", "142"),
    )
    assert [str(w) for w in report.warnings] == [
        "line 3: estimated read: its usage is flagged estimated",
        "line 5: 3.0 days since the previous read: usage spread",
    ]
    assert await daily(engine) == {
        (date(2026, 11, 10), "total"): (D("4.000"), True),
        (date(2026, 11, 11), "total"): (D("6.000"), True),
        (date(2026, 11, 12), "total"): (D("10.000"), True),
        (date(2026, 11, 13), "total"): (D("10.000"), True),
        (date(2026, 11, 14), "total"): (D("10.000"), True),
        (date(2026, 11, 15), "total"): (D("2.000"), False),
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (read("12-01T00:00:00", "100"), "in the future"),
        ("BJPOWER,M1,total,2025-12-31T00:00:00+08:00,5,", "before meter M1 was installed"),
        ("BJPOWER,M1,total,2026-11-18T00:00:00,5,", "has no UTC offset"),
        ("BJPOWER,M1,total,2026-11-18T00:00:00+08:00,-5,", "value -5 is negative"),
        ("BJPOWER,M1,total,2026-11-18T00:00:00+08:00,5.1234,", "more than 3 decimals"),
        ("BJPOWER,M1,total,2026-11-18T00:00:00+08:00,5,guessed", "quality 'guessed'"),
        ("BJPOWER,M 1,total,2026-11-18T00:00:00+08:00,5,", "meter 'M 1'"),
        ("BJPOWER,M1,total,2026-11-18T00:00:00+08:00,5", "5 fields, expected 6"),
    ],
)
async def test_each_bad_line_is_named(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport, line: str, message: str
) -> None:
    errors = await rejected(engine, clock, read("11-17T00:00:00", "1"), line)
    assert len(errors) == 1 and errors[0].startswith("line 3: ") and message in errors[0], errors


async def test_only_the_named_billers_lines(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    with pytest.raises(FileRejected) as caught:
        await import_lines(
            engine, clock, READS_HEADER, read("11-17T00:00:00", "1"), biller="SHPOWER"
        )
    assert [str(e) for e in caught.value.errors] == [
        "line 2: biller BJPOWER, but this import is for SHPOWER"
    ]


async def test_time_of_use_registers_make_a_day_together(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    """A time-of-use meter's day is known when all three registers are: prepaid accrual
    settles a day once, so a day with the valley register still unread waits."""
    day1 = [read("11-18T00:00:00", v, "M2", r) for r, v in (("peak", "10"), ("flat", "20"),
                                                             ("valley", "30"))]  # fmt: skip
    day2 = [read("11-19T00:00:00", v, "M2", r) for r, v in (("peak", "13.5"), ("flat", "24"),
                                                             ("valley", "36.25"))]  # fmt: skip
    await reads(engine, clock, *day1, *day2[:2])
    assert await daily(engine, "0100000002") == {}
    await reads(engine, clock, day2[2])
    assert await daily(engine, "0100000002") == {
        (date(2026, 11, 18), "flat"): (D("4.000"), False),
        (date(2026, 11, 18), "peak"): (D("3.500"), False),
        (date(2026, 11, 18), "valley"): (D("6.250"), False),
    }


async def test_a_replaced_meter_completes_the_day_with_the_new_one(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    """M1 comes off at 10:00 on 11-19 with a last read; M4 goes on and starts at 0. The
    day is known once both meters have covered their part of it."""
    await reads(
        engine,
        clock,
        read("11-18T00:00:00", "500"),
        read("11-19T00:00:00", "510"),
        read("11-19T10:00:00", "514"),
    )
    await import_lines(
        engine,
        clock,
        METERS_HEADER,
        METERS[0].replace("+08:00,", "+08:00,2026-11-19T10:00:00+08:00"),
        "BJPOWER,0100000001,张三,M4,electricity,kWh,total,6,1,2026-11-19T10:00:00+08:00,",
    )
    assert date(2026, 11, 19) not in {d for d, _ in await daily(engine)}
    await reads(engine, clock, read("11-19T10:00:00", "0", "M4"), read("11-20T00:00:00", "7", "M4"))
    assert (await daily(engine))[(date(2026, 11, 19), "total")] == (D("11.000"), False)
    with pytest.raises(FileRejected) as caught:
        await reads(engine, clock, read("11-20T00:00:00", "520"))
    assert "after meter M1 was removed" in str(caught.value.errors[0])


async def test_a_second_meter_on_the_account_reopens_the_days_it_missed(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    """A meter registered late, installed on a day already known, makes that day
    unknown until its own reads cover it: the account's usage is both meters'."""
    await reads(
        engine,
        clock,
        read("11-18T00:00:00", "100"),
        read("11-19T00:00:00", "110"),
        read("11-20T00:00:00", "125"),
    )
    assert set(await daily(engine)) == {
        (date(2026, 11, 18), "total"),
        (date(2026, 11, 19), "total"),
    }
    second = "BJPOWER,0100000001,张三,M5,electricity,kWh,total,6,1,2026-11-19T00:00:00+08:00,"
    report = await import_lines(engine, clock, METERS_HEADER, second)
    assert report.counts["added"] == 1
    assert await daily(engine) == {(date(2026, 11, 18), "total"): (D("10.000"), False)}
    await reads(engine, clock, read("11-19T00:00:00", "0", "M5"), read("11-20T00:00:00", "2", "M5"))
    assert (await daily(engine))[(date(2026, 11, 19), "total")] == (D("17.000"), False)


async def test_concurrent_imports_of_one_biller_take_turns(
    engine: AsyncEngine, clock: FrozenClock, metered: ImportReport
) -> None:
    lines = [read(f"11-{d}T00:00:00", str(10 * d)) for d in range(10, 20)]
    first, second = await asyncio.gather(reads(engine, clock, *lines), reads(engine, clock, *lines))
    assert sorted([first.counts["added"], second.counts["added"]]) == [0, 10]
    assert len(await daily(engine)) == 9

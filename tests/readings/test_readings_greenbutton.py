"""Green Button (ESPI) interval data: the real sample files read as another parser reads
them (greenbutton-python's expected output, kept beside them), their totals against the
files' own usage summaries, and imported into daily usage on Shanghai days."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.readings.test_readings_reads import (
    METERS_HEADER,
    daily,
    import_data,
    import_lines,
    power_biller,
    row_counts,
)
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.common.files import FileRejected
from utilipay.errors import DomainError
from utilipay.readings.espi import parse_green_button
from utilipay.readings.schemas import Service

DATA = Path(__file__).parents[1] / "data" / "readings"
HOURLY = "TestGBDataHourlyNineDaysBinnedDaily"
DAILY = "TestGBDataOneYearDailyBinnedMonthly"
EASTERN = ZoneInfo("America/New_York")  # the feeds' LocalTimeParameters: -5 h, US DST rules
# "    2014-01-01 05:00:00, 1:00:00: 819 Wh($0.02457)" / "…, 1 day, 1:00:00: 25935 Wh(…)"
_EXPECTED = re.compile(
    r" {4}(?P<local>\S+ \S+), (?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d): "
    r"(?P<wh>\d+) Wh\(\$[0-9.]+\)"
)
GB_METER = "BJPOWER,0100000009,Green Button,GB1,electricity,kWh,total,8,1,2012-01-01T00:00:00Z,"


def sample(name: str) -> bytes:
    return (DATA / f"{name}.xml").read_bytes()


def expected(name: str) -> list[tuple[datetime, timedelta, Decimal]]:
    """greenbutton-python's reading: (start in UTC, duration, kWh) per interval."""
    found = []
    for line in (DATA / f"{name}.expected.txt").read_text().splitlines()[1:]:
        if not line:
            continue
        m = _EXPECTED.fullmatch(line)
        assert m, line
        local = datetime.fromisoformat(m["local"]).replace(tzinfo=EASTERN)
        duration = timedelta(
            days=int(m["days"] or 0), hours=int(m["h"]), minutes=int(m["m"]), seconds=int(m["s"])
        )
        found.append((local.astimezone(UTC), duration, Decimal(m["wh"]) / 1000))
    return found


@pytest.mark.parametrize("name", [HOURLY, DAILY])
def test_the_samples_read_as_greenbutton_python_reads_them(name: str) -> None:
    data = parse_green_button(sample(name), name)
    assert (data.service, data.unit) == (Service.ELECTRICITY, "kWh")
    ours = [(r.start, r.end - r.start, r.quantity) for r in data.intervals]
    assert ours == expected(name)
    assert not any(r.estimated for r in data.intervals)


def test_the_totals_match_the_files_usage_summaries() -> None:
    """Each file's ElectricPowerUsageSummary states the consumption of a billing period."""
    hourly = parse_green_button(sample(HOURLY)).intervals
    assert sum(r.quantity for r in hourly) == Decimal("199.563")  # 199563 Wh, "last period"

    def used(rows: Any, start: int, end: int) -> Decimal:
        lo, hi = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        return Decimal(sum(r.quantity for r in rows if lo <= r.start and r.end <= hi))

    year = parse_green_button(sample(DAILY)).intervals
    billing_start = 1391230800  # February 2014, 2419200 s
    assert used(year, billing_start, billing_start + 2419200) == Decimal("625.716")
    # currentBillingPeriodOverAllConsumption: 447993 Wh from then to its timeStamp
    assert used(year, billing_start + 2419200, 1395374400) == Decimal("447.993")
    # the DST days of the feed's time zone are 23 and 25 hours long
    lengths = {r.start.astimezone(EASTERN).date(): r.end - r.start for r in year}
    assert lengths[date(2013, 3, 10)] == timedelta(hours=23)
    assert lengths[date(2013, 11, 3)] == timedelta(hours=25)


@pytest.fixture
async def gb_meter(engine: AsyncEngine, clock: FrozenClock) -> None:
    await power_biller(engine, clock)
    await import_lines(engine, clock, METERS_HEADER, GB_METER)


async def import_sample(engine: AsyncEngine, clock: FrozenClock, data: bytes) -> Any:
    return await import_data(engine, clock, data, source="gb.xml", meter_id="GB1")


async def test_hourly_data_makes_the_whole_shanghai_days_it_covers(
    engine: AsyncEngine, clock: FrozenClock, gb_meter: None
) -> None:
    """The feed runs 2014-01-01 05:00Z to 01-10 05:00Z: 13:00 to 13:00 in Shanghai. The
    first and last Shanghai days are partly covered: they are not a day's usage."""
    report = await import_sample(engine, clock, sample(HOURLY))
    assert (report.kind, report.counts["added"], report.counts["days"]) == ("intervals", 216, 8)
    assert report.warnings == []
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for start, _, kwh in expected(HOURLY):
        by_day[start.astimezone(SHANGHAI).date()] += kwh
    usage = await daily(engine, "0100000009")
    assert usage == {
        (d, "total"): (by_day[d], False) for d in sorted(by_day)[1:-1]
    }  # 2014-01-02 … 01-09
    # 01-04 in Shanghai is 01-03 11:00 to 01-04 11:00 in the feed's zone: by hand from the
    # sample, 6 × 819 + 1092 + 5 × 1365 + 819 (the 3rd) and 5 × 273 + 819 + 5 × 1365 Wh
    assert usage[(date(2014, 1, 4), "total")] == (Decimal("22.659"), False)
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(quantity) FROM meter_usage"))).scalar()
    assert total == Decimal("199.563")


async def test_daily_intervals_are_spread_over_the_days_they_straddle(
    engine: AsyncEngine, clock: FrozenClock, gb_meter: None
) -> None:
    report = await import_sample(engine, clock, sample(DAILY))
    assert (report.counts["added"], report.counts["days"]) == (444, 443)
    usage = await daily(engine, "0100000009")
    assert min(usage)[0] == date(2013, 1, 2) and max(usage)[0] == date(2014, 3, 20)
    # 2013-01-02 in Shanghai: 13 h of Tuesday's 21.021 kWh and 11 h of Wednesday's
    assert usage[(date(2013, 1, 2), "total")] == (Decimal("21.021"), False)
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(quantity) FROM meter_usage"))).scalar()
    assert total == sum(kwh for *_, kwh in expected(DAILY))


async def test_re_import_is_idempotent_and_a_changed_value_is_refused(
    engine: AsyncEngine, clock: FrozenClock, gb_meter: None
) -> None:
    await import_sample(engine, clock, sample(HOURLY))
    before = await row_counts(engine), await daily(engine, "0100000009")
    again = await import_sample(engine, clock, sample(HOURLY))
    assert (again.counts["added"], again.counts["unchanged"], again.counts["days"]) == (0, 216, 0)
    after = await row_counts(engine), await daily(engine, "0100000009")
    assert after[1] == before[1]
    assert after[0]["meter_usage"] == before[0]["meter_usage"]

    changed = sample(HOURLY).replace(b"<value>1092</value>", b"<value>1093</value>", 1)
    with pytest.raises(FileRejected) as caught:
        await import_sample(engine, clock, changed)
    (error,) = caught.value.errors
    assert error.message == "this interval is stored with quantity 1.092"
    assert sample(HOURLY).decode().splitlines()[error.line - 1].strip() == "<IntervalReading>"
    assert (await row_counts(engine))["reading_imports"] == after[0]["reading_imports"]


async def test_bad_readings_are_all_named_by_line(
    engine: AsyncEngine, clock: FrozenClock, gb_meter: None
) -> None:
    data = sample(HOURLY)
    data = data.replace(b"<value>273</value>", b"<value>-273</value>", 1)
    data = data.replace(b"<value>1092</value>", b"<value>10x92</value>", 1)
    with pytest.raises(FileRejected) as caught:
        parse_green_button(data, "gb.xml")
    lines = data.decode().splitlines()
    found = [(lines[e.line - 1].strip(), e.message) for e in caught.value.errors]
    assert found == [
        ("<IntervalReading>", "value -273 is negative: not consumption"),
        ("<IntervalReading>", "espi:value '10x92' is not an integer"),
    ]
    assert (await row_counts(engine))["meter_intervals"] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<feed xmlns='http://www.w3.org/2005/Atom' xmlns:espi='http://naesb.org/espi'>\n<entry>",
         "line 2: not XML"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY x "naesb.org/espi">]>\n<feed>&x;</feed>',
         "refused"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom' xmlns:espi='http://naesb.org/espi'/>",
         "no IntervalReading"),
    ],
)  # fmt: skip
def test_broken_xml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(FileRejected) as caught:
        parse_green_button(data, "gb.xml")
    assert message in str(caught.value.errors[0])


async def test_the_file_must_fit_the_meter(
    engine: AsyncEngine, clock: FrozenClock, gb_meter: None
) -> None:
    water = "BJPOWER,0100000009,Green Button,W1,water,m3,total,8,1,2012-01-01T00:00:00Z,"
    await import_lines(engine, clock, METERS_HEADER, water)
    with pytest.raises(DomainError, match="the file is in kWh, meter W1 counts m3"):
        await import_data(engine, clock, sample(HOURLY), meter_id="W1")
    with pytest.raises(DomainError, match="no meter NOPE"):
        await import_data(engine, clock, sample(HOURLY), meter_id="NOPE")
    with pytest.raises(DomainError, match="say which meter"):
        await import_data(engine, clock, sample(HOURLY))
    assert (await row_counts(engine))["meter_intervals"] == 0

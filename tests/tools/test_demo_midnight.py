"""The demo near midnight in Shanghai: its journey's payments fall on one business day, so
its day end reconciles and settles all of them (a run begun at 23:59:52 once paid on two
days and its day end refused the wallet's statement)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilipay.clock import SHANGHAI, business_date
from utilipay_tools.demo.journey import JOURNEY_MARGIN, wait_for_one_day

# A second of a Shanghai day, half of them in its last ten minutes: drawn uniformly, an
# instant falls inside the margin once in 480 draws, and a wait that never waits would pass
# four runs of 100 examples in five.
instants = st.builds(
    lambda day, second, micro: (
        datetime.combine(day, time(), SHANGHAI) + timedelta(seconds=second, microseconds=micro)
    ),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)),
    st.one_of(st.integers(0, 86_399), st.integers(86_400 - 600, 86_399)),
    st.integers(0, 999_999),
)
_INSTANT = timedelta(microseconds=1)


@given(instants)
def test_after_the_wait_the_journey_has_its_margin_left_in_the_day(now: datetime) -> None:
    wait = wait_for_one_day(now)
    start = now + wait
    assert timedelta(0) <= wait <= JOURNEY_MARGIN + timedelta(seconds=1)
    # the margin, [start, start + margin), lies inside one business day
    assert business_date(start) == business_date(start + JOURNEY_MARGIN - _INSTANT)
    if wait:  # it waits only when the day has less than the margin left
        assert business_date(now) != business_date(now + JOURNEY_MARGIN - _INSTANT)


def test_the_wait_runs_to_just_past_midnight_in_shanghai() -> None:
    def at(clock_time: str) -> datetime:
        return datetime.fromisoformat(f"2026-12-07T{clock_time}+08:00")

    assert wait_for_one_day(at("23:59:52")) == timedelta(seconds=9)
    assert wait_for_one_day(at("23:57:00.5")) == timedelta(minutes=3, seconds=0.5)
    assert wait_for_one_day(at("23:57:00")) == timedelta(0)  # exactly the margin left
    assert wait_for_one_day(at("00:00:00")) == timedelta(0)
    assert wait_for_one_day(at("12:00:00")) == timedelta(0)


@pytest.mark.slow
def test_the_demo_begun_seconds_before_midnight_pays_and_settles_on_one_day(
    tmp_path: Path,
) -> None:
    """The whole demo under libfaketime (``apt-get install faketime``), its own embedded
    PostgreSQL started under the same fake time, 20 s before midnight in Shanghai."""
    faketime = shutil.which("faketime")
    assert faketime, "this test needs libfaketime's faketime: apt-get install faketime"
    start = datetime(2026, 12, 7, 23, 59, 40, tzinfo=SHANGHAI).astimezone(UTC)
    env = {k: v for k, v in os.environ.items() if k != "UTILIPAY_DATABASE_URL"}
    env.update(UTILIPAY_HOME=str(tmp_path), COLUMNS="200")
    done = subprocess.run(  # noqa: S603 (our own entry point, under faketime)
        [faketime, "-f", f"@{start:%Y-%m-%d %H:%M:%S}", sys.executable, "-m", "utilipay", "demo"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "for midnight in Shanghai" in done.stdout
    # the parts paid on the real clock (auto-pay and smart payment move clocks of their own)
    hosted = done.stdout.split("signs auto-pay")[0]
    front, day_end = done.stdout.split("The front line")[1].split("Day end")
    paid_on = set(re.findall(r'"created_at": "(\d{4}-\d{2}-\d{2})T', hosted + front))
    assert paid_on == {"2026-12-08"}, paid_on
    assert "settlement of 2026-12-08" in done.stdout
    assert "│ CHANNEL_ONLY    │ 1       │" in day_end
    assert "│ HUB_ONLY        │ 0       │" in day_end

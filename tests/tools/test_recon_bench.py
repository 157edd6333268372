"""The reconciliation benchmark's day, small: every injected break found, nothing else."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import _settings
from utilipay.db.engine import database_url, drop_database
from utilipay.recon.service import STEPS
from utilipay_tools.bench import recon as bench
from utilipay_tools.bench import recon_run


def test_a_small_day_classifies_exactly_the_injected_breaks(tmp_path: Path) -> None:
    size = bench.run_size(14_000, tmp_path)
    assert size.correct, (size.counts, size.expected)
    assert size.counts == {
        "MATCHED": 13_986, "CHANNEL_ONLY": 4, "HUB_ONLY": 2, "AMOUNT_MISMATCH": 2,
        "STATUS_MISMATCH": 2, "DUPLICATE": 2, "CARRIED": 2,
    }  # fmt: skip
    # the kinds: one order unknown to the hub, one line missing, one line doubled
    assert (size.hub_payments, size.channel_lines) == (13_998, 14_000)
    assert size.utility_lines == 1_400 - 6  # a tenth is remote; three kinds lack a write-off
    # what a run keeps: the records that are not matches
    kept = sum(n for name, n in size.counts.items() if name != "MATCHED")
    assert (tmp_path / "items.csv").read_text().count("\n") == kept == 14


def test_the_sizes_and_the_report(tmp_path: Path) -> None:
    assert bench.parse_sizes("1_000_000,3000000") == [1_000_000, 3_000_000]
    with pytest.raises(ValueError, match="at least"):
        bench.parse_sizes("100")
    with pytest.raises(ValueError, match="commas"):
        bench.parse_sizes("1e6")
    result = bench.run([7_000, 21_000], say=lambda _: None)
    report = result.as_json()
    assert [s["rows"] for s in report["sizes"]] == [7_000, 21_000]
    assert all(s["correct"] for s in report["sizes"])
    assert report["machine"]["cpus"]


@pytest.mark.slow
def test_a_million_payments_classify_exactly_the_injected_breaks(tmp_path: Path) -> None:
    # how fast is `utilipay bench recon`'s business (BENCHMARKS.md), not a test's
    size = bench.run_size(1_000_000, tmp_path)
    assert size.correct, (size.counts, size.expected)


@pytest.mark.slow
def test_a_whole_run_from_postgres_finds_the_injected_breaks() -> None:
    """``bench recon-run`` on a small day: seeded, reconciled, committed, counted (slow: a
    benchmark's day, 26 s; reconciliation itself is tested in tests/recon)."""
    result = recon_run.run(_settings(), 3_500, say=lambda _: None, rounds=2)
    assert list(result.runs) == ["postgresql", "kept file"]
    assert [len(runs) for runs in result.runs.values()] == [2, 2]
    for measured in (m for runs in result.runs.values() for m in runs):
        assert measured.counts["HUB_ONLY"] == measured.counts["AMOUNT_MISMATCH"] == 4
        assert measured.counts["MATCHED"] == 3_500 - 8
        assert list(measured.steps) == list(STEPS)  # every step timed
        assert measured.cpu["bench_process"] and measured.cpu["bench_process"] > 0
        # the test server is a process of this machine: its CPU is read too (at 10 ms a
        # tick, a run of this size may take none that shows)
        assert measured.cpu["server"] is not None
    assert sum(m.cpu["server"] or 0 for m in result.runs["postgresql"]) > 0
    assert result.correct and result.as_json()["correct"] is True
    ratios = result.as_json()["ratios"]
    assert ratios["cpu"] > 0 and ratios["wall"] > 0
    # the files written once, before the runs
    assert set(result.keep_cpu) == {"statement", "payments"}
    with pytest.raises(ValueError, match="at least 1,000"):
        recon_run.run(_settings(), 10)


@pytest.mark.slow
def test_a_kept_day_is_seeded_once_and_reconciled_again() -> None:
    url = database_url(_settings(), database=f"{recon_run.DATABASE}_1500")
    asyncio.run(drop_database(url))
    try:
        first = recon_run.run(_settings(), 1_500, say=lambda _: None, keep=True)
        again = recon_run.run(_settings(), 1_500, say=lambda _: None, keep=True)
    finally:
        asyncio.run(drop_database(url))
    assert first.seed_seconds > 0 and again.seed_seconds == 0
    # the files too are written once, with the day
    assert set(first.keep_cpu) == {"statement", "payments"} and again.keep_cpu == {}
    assert first.correct and again.correct
    assert first.runs["kept file"][0].counts == again.runs["postgresql"][0].counts

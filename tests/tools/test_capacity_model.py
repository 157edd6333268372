"""The capacity model: its arithmetic on known inputs (a pure function, no server), and the
measurement on a small run through the real hub, whose inputs must be those of payments."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import _settings
from utilipay_tools.bench import capacity
from utilipay_tools.bench.capacity_model import (
    Assumptions,
    Measured,
    TableGrowth,
    as_json,
    model,
)

# 1,000 payments: 0.5 ms of PostgreSQL CPU and 5,000 bytes of WAL each (1,000 of it full
# pages), one commit for four; pgbench's transaction 0.25 ms and 2,000 bytes
MEASURED = Measured(
    requested=1000, failed=0, payments=1000, seconds=2.0, db_cpu_seconds=0.5,
    app_cpu_seconds=0.3, wal_bytes=5_000_000, wal_fpi_bytes=1_000_000, wal_records=40_000,
    commits=250, books_balanced=True, pgbench_transactions=1000,
    pgbench_db_cpu_seconds=0.25, pgbench_wal_bytes=2_000_000,
    tables=(
        TableGrowth("payments", 1000, 0, 0, heap_bytes=600_000, index_bytes=400_000),
        TableGrowth("channel_nonces", 1000, 0, 0, heap_bytes=100_000, index_bytes=0),
        TableGrowth("payment_rollups", 1000, 0, 1000, heap_bytes=50_000, index_bytes=0),
        TableGrowth("outbox_events", 1000, 1000, 0, heap_bytes=200_000, index_bytes=0),
    ),
)  # fmt: skip
# a day of 86.4 M: 1,000 a second on average; the design peak 2 × that, above the stated 1,500
DAY = Assumptions(
    payments_per_day=86_400_000, peak_per_second=1_500, peak_to_average=2.0,
    db_utilisation=0.5, app_utilisation=0.6, hot_months=3, wal_archive_days=7, queue_days=7,
)  # fmt: skip
YEAR = 86_400_000 * 365


def test_rates_and_cores_follow_from_the_cpu_of_one_payment() -> None:
    s = model(MEASURED, DAY)
    assert (s.average_per_second, s.design_peak_per_second) == (1000, 2000)
    assert s.issue_peak_to_average == 1.5
    assert s.db_cpu_ms == pytest.approx(0.5) and s.app_cpu_ms == pytest.approx(0.3)
    assert s.db_cores == pytest.approx({"average": 1.0, "issue_peak": 1.5, "design_peak": 2.0})
    assert s.app_cores == pytest.approx({"average": 0.5, "issue_peak": 0.75, "design_peak": 1.0})
    assert s.db_cpu_in_pgbench_transactions == pytest.approx(2.0)
    assert s.commits_per_second_at_design_peak == pytest.approx(500)


def test_wal_a_day_with_and_without_full_pages() -> None:
    s = model(MEASURED, DAY)
    assert s.wal_per_day == pytest.approx(5000 * 86_400_000)
    assert s.wal_per_day_without_full_pages == pytest.approx(4000 * 86_400_000)
    assert s.wal_peak_bytes_per_second == pytest.approx(5000 * 2000)
    assert s.wal_archive_bytes == pytest.approx(5000 * 86_400_000 * 7)
    assert s.wal_in_pgbench_transactions == pytest.approx(2.5)


def test_a_year_of_each_table_and_the_hot_set_the_design_keeps() -> None:
    tables = {t.table: t for t in model(MEASURED, DAY).tables}
    payments = tables["payments"]
    assert (payments.kept, payments.bytes_per_payment) == ("history", 1000)
    assert payments.year_bytes == pytest.approx(1000 * YEAR)
    assert payments.hot_bytes == pytest.approx(1000 * YEAR / 4)  # 3 months of 12
    nonces = tables["channel_nonces"]  # purged after 600 s: the design peak's 600 s
    assert nonces.kept == "window"
    assert nonces.year_bytes == nonces.hot_bytes == pytest.approx(100 * 2000 * 600)
    folded = tables["payment_rollups"]  # a row inserted and one folded away per payment
    assert (folded.kept, folded.year_bytes, folded.hot_bytes) == ("updated or folded", 0, 0)
    outbox = tables["outbox_events"]  # kept today; the design drops it after a week
    assert outbox.year_bytes == pytest.approx(200 * YEAR)
    assert outbox.hot_bytes == pytest.approx(200 * 86_400_000 * 7)
    s = model(MEASURED, DAY)
    assert s.year_bytes == pytest.approx(sum(t.year_bytes for t in tables.values()))
    assert s.hot_bytes == pytest.approx(sum(t.hot_bytes for t in tables.values()))


def test_payments_refused_lost_or_unbalanced_are_not_a_measurement() -> None:
    assert MEASURED.faults == []
    short = replace(MEASURED, failed=3, payments=997, books_balanced=False)
    assert short.faults == [
        "3 requests refused or lost",
        "997 payments stored of 1000 sent",
        "the books do not balance",
    ]
    assert as_json(short, DAY, model(short, DAY))["measured"]["valid"] is False


def test_the_full_pages_and_the_kinds_are_read_from_pg_waldumps_stats() -> None:
    stats = (
        "Type           N      (%)     Record size      (%)     FPI size      (%)  "
        "Combined size      (%)\n"
        "XLOG           3 (  0.01)             150 (  0.01)        24576 (  1.00)"
        "          24726 (  1.00)\n"
        "Heap/Insert  100 ( 50.00)           20000 ( 60.00)            0 (  0.00)"
        "          20000 ( 40.00)\n"
        "Btree          0 (  0.00)               0 (  0.00)            0 (  0.00)"
        "              0 (  0.00)\n"
        "        --------   --------   --------   --------\n"
        "Total      21509       1566197 [10.51%]   13340636 [89.49%]   14906833 [100%]\n"
    )
    assert capacity.parse_waldump(stats) == (13_340_636, {"XLOG": 24726, "Heap/Insert": 20000})
    with pytest.raises(RuntimeError, match="no total"):
        capacity.parse_waldump("pg_waldump: error: could not find a valid record")


@pytest.mark.slow
def test_a_small_run_measures_the_costs_of_the_payments_made() -> None:
    """``bench capacity`` on 400 payments through the real hub (slow: a hub, a warm-up, a
    pgbench baseline): every input the model takes is there and of payments."""
    m = capacity.measure(_settings(), 400, say=lambda _: None)
    assert m.faults == []
    assert (m.requested, m.payments) == (400, 400)
    assert m.db_cpu_seconds > 0 and m.app_cpu_seconds > 0 and m.seconds > 0
    assert 0 <= m.wal_fpi_bytes < m.wal_bytes and m.wal_records > 400
    assert 0 < m.commits <= 400  # batched: never more commits than payments
    assert m.pgbench_transactions > 0 and m.pgbench_db_cpu_seconds > 0 and m.pgbench_wal_bytes > 0
    written = {t.table: t for t in m.tables}
    # the ledger's two postings and the payment's own rows, exactly, each with its bytes
    for table, rows in {"payments": 1, "payment_orders": 1, "journal_entries": 1, "postings": 2,
                        "outbox_events": 1, "channel_nonces": 1}.items():  # fmt: skip
        assert written[table].inserted == rows * 400, table
        assert written[table].heap_bytes > 0 and written[table].index_bytes > 0, table
    assert written["bills"].updated == 400  # each payment writes its bill off
    assert written["outbox_events"].updated == 400  # the dispatcher's mark
    assert m.wal_by_kind["Heap"] > 0 and m.wal_by_kind["Btree"] > 0
    assert m.index_bytes["payments_pkey"] > 0
    s = model(m, Assumptions())
    assert s.db_cores["design_peak"] > s.db_cores["issue_peak"] > s.db_cores["average"] > 0
    assert s.hot_bytes < s.year_bytes

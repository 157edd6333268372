"""``bench payments`` refuses to pass off error answers as payments: a round whose requests
failed is fast, so its ratio to pgbench would look good and mean nothing."""

from __future__ import annotations

from utilipay_tools.bench.payments import BenchConfig, BenchResult, LoadResult, Round
from utilipay_tools.bench.terminals import Load, TerminalBenchResult, TerminalRound


def _load(status_errors: int = 0, exhausted: int = 0) -> LoadResult:
    return LoadResult(
        requests=1000, duration_us=1_000_000, status_errors=status_errors, socket_errors=0,
        p50_us=900, p90_us=1500, p99_us=4000, max_us=9000, exhausted_threads=exhausted,
    )  # fmt: skip


def _run(
    status_errors: int, stored: int, *, balanced: bool = True, exhausted: int = 0
) -> BenchResult:
    load = _load(status_errors, exhausted)
    return BenchResult(
        machine={}, config=BenchConfig(lines=("channel",)), load_generator="wrk",
        rounds=[Round({"channel": load}, {"channel": (1900.0, 2100.0)})],
        payments_in_database=stored, books_balanced=balanced,
    )  # fmt: skip


def test_a_run_of_payments_made_is_a_measurement() -> None:
    result = _run(0, 1000)
    assert result.faults == []
    assert result.as_json()["valid"] is True


def test_error_answers_an_empty_database_or_unbalanced_books_are_not() -> None:
    failed = _run(1000, 0)
    assert failed.faults == [
        "round 1 channel: 1000 error answers, 0 socket errors",
        "no payment in the database",
    ]
    assert failed.as_json()["valid"] is False
    assert _run(0, 1000, balanced=False).faults == ["the books do not balance"]


def test_a_load_that_ran_out_of_signed_requests_is_not() -> None:
    """wrk's threads stop when their signed requests run out and idle to the end of the
    run: the rate is then the number signed, not the hub's (5,000/s capped fast hosts)."""
    capped = _run(0, 1000, exhausted=2)
    assert capped.faults == [
        "round 1 channel: the signed requests ran out (2 load thread(s)): 1,000/s is a floor,"
        " not the hub's rate"
    ]
    assert capped.as_json()["valid"] is False


def test_bench_terminals_judges_its_loads_and_run_the_same_way() -> None:
    loads = {"channel": _load(), "one_outlet": _load(exhausted=1), "spread": _load(3)}
    result = TerminalBenchResult(
        machine={}, config=BenchConfig(), outlets=20, load_generator="wrk",
        rounds=[TerminalRound({k: Load(v, 0.0) for k, v in loads.items()}, 2000.0)],
        payments_in_database=0, books_balanced=False,
    )  # fmt: skip
    assert result.faults == [
        "round 1 one_outlet: the signed requests ran out (1 load thread(s)): 1,000/s is a"
        " floor, not the hub's rate",
        "round 1 spread: 3 error answers, 0 socket errors",
        "no payment in the database",
        "the books do not balance",
    ]
    assert result.as_json()["valid"] is False


def test_a_lines_baseline_is_pgbench_on_either_side_of_it() -> None:
    """pgbench runs before the first line and after each: a line is measured against the
    mean of the two phases around it, so a host that slowed between them weighs on both."""
    result = _run(0, 1000)
    (line,) = result.as_json()["rounds"][0]["lines"].values()
    assert line["pgbench_tps_before_after"] == [1900.0, 2100.0]
    assert line["ratio_to_pgbench"] == 0.5  # 1,000 payments/s against 2,000 tps

"""``utilipay bench capacity``: one payment's costs measured, and the 60 M a day model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from utilipay.cli.runtime import console, err_console
from utilipay.config import get_settings
from utilipay_tools.bench.capacity_model import Assumptions, as_json, model
from utilipay_tools.cli.measured import report

if TYPE_CHECKING:
    from utilipay_tools.bench.capacity_model import Measured, Sizing


def bench_capacity(
    payments: Annotated[int, typer.Option(help="signed payments measured")] = 20_000,
    per_day: Annotated[int, typer.Option(help="payments a day to size for")] = 60_000_000,
    peak: Annotated[float, typer.Option(help="the peak payments/s to size for")] = 1_000,
    peak_to_average: Annotated[float, typer.Option(help="busiest second ÷ the day's mean")] = 3.0,
    hot_months: Annotated[int, typer.Option(help="monthly partitions kept hot")] = 3,
    as_json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:  # fmt: skip
    """What one payment costs (CPU, WAL, rows and bytes per table), measured through the
    hub, and what a day of --per-day payments with a --peak needs: cores, WAL, disk."""
    from utilipay_tools.bench import capacity  # noqa: PLC0415 (heavy; this command only)

    for hint, value, least in (("--payments", payments, 1), ("--per-day", per_day, 1),
                               ("--peak", peak, 1), ("--peak-to-average", peak_to_average, 1),
                               ("--hot-months", hot_months, 1)):  # fmt: skip
        if value < least:
            raise typer.BadParameter(f"must be at least {least}", param_hint=hint)
    assumptions = Assumptions(
        payments_per_day=per_day, peak_per_second=peak,
        peak_to_average=peak_to_average, hot_months=hot_months,
    )  # fmt: skip
    measured = capacity.measure(get_settings(), payments, say=err_console.print)
    sizing = model(measured, assumptions)
    report(
        lambda: as_json(measured, assumptions, sizing),
        lambda: _print(measured, sizing, assumptions),
        measured.faults,
        as_json=as_json_,
    )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _per_payment(sizes: dict[str, int], payments: int, most: int = 6) -> str:
    largest = sorted(sizes.items(), key=lambda i: -i[1])[:most]
    return ", ".join(f"{name} {size / payments:,.0f} B" for name, size in largest)


def _print(m: Measured, s: Sizing, a: Assumptions) -> None:
    costs = Table("per payment", "measured", title="utilipay bench capacity: one payment")
    costs.add_row(
        "PostgreSQL CPU",
        f"{s.db_cpu_ms:.3f} ms ({s.db_cpu_in_pgbench_transactions:.2f} × pgbench's)",
    )
    costs.add_row("hub CPU (uvicorn)", f"{s.app_cpu_ms:.3f} ms")
    costs.add_row("WAL", f"{_size(s.wal_bytes_per_payment)} "
                  f"({s.wal_in_pgbench_transactions:.2f} × pgbench's), "
                  f"{_size(s.wal_record_bytes_per_payment)} without full pages")  # fmt: skip
    costs.add_row("commits", f"{m.commits / m.payments:.3f}")
    costs.add_row("WAL by kind", _per_payment(m.wal_by_kind, m.payments))
    costs.add_row("index growth", _per_payment(m.index_bytes, m.payments, most=8))
    console.print(costs)
    day = f"{a.payments_per_day:,} payments a day"
    tables = Table("table", "rows/payment", "bytes/payment", "kept", "a year",
                   f"{a.hot_months} months hot", title=day)  # fmt: skip
    for t in s.tables:
        tables.add_row(t.table, f"{t.rows_per_payment:.2f}", f"{t.bytes_per_payment:,.0f}", t.kept,
                       _size(t.year_bytes), _size(t.hot_bytes))  # fmt: skip
    tables.add_row("total", "", "", "", _size(s.year_bytes), _size(s.hot_bytes))
    console.print(tables)
    rates = Table("at", "payments/s", "PostgreSQL cores", "hub cores", title="cores")
    for key, rate in (("average", s.average_per_second), ("issue_peak", a.peak_per_second),
                      ("design_peak", s.design_peak_per_second)):  # fmt: skip
        rates.add_row(key, f"{rate:,.0f}", f"{s.db_cores[key]:.1f}", f"{s.app_cores[key]:.1f}")
    console.print(rates)
    console.print(
        f"WAL {_size(s.wal_per_day)}/day ({_size(s.wal_per_day_without_full_pages)} without "
        f"full pages), {_size(s.wal_peak_bytes_per_second)}/s at the design peak, "
        f"{_size(s.wal_archive_bytes)} for {a.wal_archive_days} days' archive; "
        f"{s.commits_per_second_at_design_peak:,.0f} commits/s at the design peak; the issue's "
        f"peak is {s.issue_peak_to_average:.2f} × the day's mean; measured at "
        f"{m.payments / m.seconds:,.0f} payments/s, {m.machine.get('cpus')} × "
        f"{m.machine.get('cpu_model')}, PostgreSQL {m.machine.get('postgresql')}",
        highlight=False,
    )

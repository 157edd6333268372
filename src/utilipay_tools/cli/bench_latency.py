"""``utilipay bench latency``: payments' tail latency at a fixed offered rate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from utilipay.cli.runtime import console, err_console
from utilipay.config import get_settings
from utilipay_tools.cli.measured import WORKERS_HELP, report, serve_workers

if TYPE_CHECKING:
    from utilipay_tools.bench.latency import LatencyResult


def bench_latency(
    rate: Annotated[
        list[int] | None, typer.Option(min=1, help="payments a second offered (repeat for more)")
    ] = None,
    seconds: Annotated[int, typer.Option(min=1, help="length of each timed run")] = 60,
    workers: Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)] = None,
    connections: Annotated[
        int, typer.Option(min=1, help="the generator's keep-alive connections")
    ] = 128,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """p50/p99/p99.9 of payments at a fixed offered rate (open model, timed from each
    request's due time), against /healthz and pgbench at the same rate in the same run."""
    from utilipay_tools.bench import latency as latency_bench  # noqa: PLC0415 (heavy; this command only)

    config = latency_bench.LatencyConfig(
        rates=tuple(rate or [1000]),
        seconds=seconds,
        workers=workers or serve_workers(),
        connections=connections,
    )
    result = latency_bench.run(get_settings(), config, say=err_console.print)
    report(result.as_json, lambda: _print_latency(result), result.faults, as_json=as_json)


def _print_latency(result: LatencyResult) -> None:
    from utilipay_tools.bench.latency import TARGET_P99_MS  # noqa: PLC0415 (heavy; this command only)

    table = Table(
        "rate/s", "run", "done/s", "p50", "p99", "p99.9", "max", "p99 from send", "lag p99",
        "errors", title="utilipay bench latency (open model; ms from each request's due time)",
    )  # fmt: skip
    for r in result.runs:
        for name, load in r.loads.items():
            t = load.latency
            table.add_row(
                str(r.rate), name, f"{load.achieved_rate:,.0f}",
                *(f"{v / 1000:.1f}" for v in (t.p50_us, t.p99_us, t.p99_9_us, t.max_us)),
                f"{load.service.p99_us / 1000:.1f}", f"{load.lag.p99_us / 1000:.1f}",
                str(load.status_errors + load.socket_errors + load.unanswered),
            )  # fmt: skip
    console.print(table)
    for r in result.runs:
        console.print(
            f"{r.rate}/s: p99 under {TARGET_P99_MS:.0f} ms: "
            f"{'yes' if r.meets_target else 'NO'}; CPU per payment: server "
            f"{r.server_cpu_us:,.0f} µs, database {r.database_cpu_us:,.0f} µs; WAL "
            f"{r.wal_bytes:,.0f} bytes and {r.commits:.2f} commits a payment; load average "
            f"{' '.join(f'{x:.2f}' for x in r.load_average)}",
            highlight=False,
        )

"""``utilipay bench http``: the HTTP layer's CPU a request, uvicorn's protocol against the
hub's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from utilipay.cli.runtime import console, err_console
from utilipay_tools.cli.measured import report

if TYPE_CHECKING:
    from utilipay_tools.bench.http import HttpBenchResult


def bench_http(
    seconds: Annotated[int, typer.Option(min=1, help="length of each run")] = 10,
    rounds: Annotated[int, typer.Option(min=1, help="rounds of (httptools, hub)")] = 3,
    connections: Annotated[int, typer.Option(min=1, help="keep-alive connections")] = 64,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """CPU per request of the server and the load generator, a payment-sized answer served
    over uvicorn's httptools protocol and over the hub's (each response in one write)."""
    from utilipay_tools.bench import http  # noqa: PLC0415 (heavy; this command only)

    result = http.run(rounds, seconds, connections, say=err_console.print)
    report(result.as_json, lambda: _print_http(result), result.faults, as_json=as_json)


def _print_http(result: HttpBenchResult) -> None:
    table = Table(
        "protocol", "requests/s", "server µs a request", "of it system", "load µs a request",
        title="utilipay bench http (a payment-sized answer)",
    )  # fmt: skip
    for r in result.runs:
        table.add_row(
            r.protocol, f"{r.per_second:,.0f}", f"{r.server_us:.1f}",
            f"{r.server_system_us:.1f}", f"{r.client_us:.1f}",
        )  # fmt: skip
    console.print(table)
    ratios = result.hub_over_httptools()
    console.print(
        f"hub ÷ httptools, medians: server {ratios['server_us']:.3f}, "
        f"load generator {ratios['client_us']:.3f}; load: {result.load_generator}",
        highlight=False,
    )

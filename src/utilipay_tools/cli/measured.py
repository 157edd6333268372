"""What the benchmark commands share: how many server processes they start by default,
and how they end: their figures as JSON or a table, then refused as a measurement when
the run had faults (printed for the post-mortem, not figures to cite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from utilipay.cli.runtime import console, err_console
from utilipay.config import get_settings

WORKERS_HELP = "uvicorn worker processes [default: as many as `utilipay serve` starts here]"


def serve_workers() -> int:
    """What ``utilipay serve`` would start with no ``--workers``: a benchmark measures the
    default configuration unless told otherwise."""
    from utilipay_tools.processes import serve_workers as of  # noqa: PLC0415 (heavy)

    return of(get_settings())


def report(
    data: Callable[[], dict[str, Any]],
    table: Callable[[], None],
    faults: list[str],
    *,
    as_json: bool,
) -> None:
    if as_json:
        console.print_json(data=data())
    else:
        table()
    if faults:
        err_console.print(f"NOT A MEASUREMENT of payments: {'; '.join(faults)}")
        raise typer.Exit(1)

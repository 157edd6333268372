"""How a benchmark command ends: its figures as JSON or a table, then refused as a
measurement when its run had faults (printed for the post-mortem, not figures to cite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from utilipay.cli.runtime import console, err_console


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

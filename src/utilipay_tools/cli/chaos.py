"""``utilipay chaos``: the fault campaign."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from utilipay.cli.runtime import console
from utilipay.config import get_settings
from utilipay_tools.chaos import campaign
from utilipay_tools.chaos.campaign import DEFAULT_FAULTS, CampaignConfig


def chaos(
    payments: Annotated[
        int, typer.Option(help="accounts paid (twins and wrong amounts on top)")
    ] = 10_000,
    concurrency: Annotated[int, typer.Option(help="payments in flight at once")] = 32,
    faults: Annotated[str, typer.Option(help="the simulator's fault spec")] = DEFAULT_FAULTS,
    seed: Annotated[int, typer.Option()] = 1,
    restart_database: Annotated[bool, typer.Option(help="crash PostgreSQL once")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The fault campaign: remote payments under faults, a worker SIGKILLed at random, a
    database crash; then proves nothing was lost or made twice."""
    config = CampaignConfig(
        payments=payments,
        concurrency=concurrency,
        faults=faults,
        seed=seed,
        restart_database=restart_database,
    )
    report = campaign.run(get_settings(), config, say=console.print)
    if as_json:
        console.print_json(data=report.as_json())
    else:
        table = Table("figure", "value", title="utilipay chaos")
        table.add_row(
            "payments answered / client retries", f"{report.load.sent:,} / {report.load.retries:,}"
        )
        table.add_row(
            "answers", ", ".join(f"{k}: {v}" for k, v in sorted(report.load.answers.items()))
        )
        table.add_row("faults injected", ", ".join(f"{k} {v}" for k, v in report.faults.items()))
        table.add_row(
            "worker SIGKILLs / database crashes",
            f"{report.worker_kills} / {report.database_restarts}",
        )
        table.add_row(
            "load / settle seconds", f"{report.load_seconds:.0f} / {report.settle_seconds:.0f}"
        )
        table.add_row("final outcomes", ", ".join(f"{k}: {v}" for k, v in report.outcomes.items()))
        for verdict in report.verdicts:
            mark = "[green]ok[/green]" if verdict.passed else "[red]FAILED[/red]"
            table.add_row(f"{mark} {verdict.name}", verdict.figures)
        console.print(table)
    if not report.passed:
        raise typer.Exit(1)

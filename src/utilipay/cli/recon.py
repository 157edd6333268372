"""``utilipay recon run|show|apply``: three-way reconciliation of a business day, and its fixes."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers.remote import RemoteBillers
from utilipay.cli.runtime import (
    console,
    default_actor,
    err_console,
    parse_day,
    run_in_transaction,
    run_steps,
)
from utilipay.clock import SystemClock
from utilipay.recon import corrections, payments_file, service
from utilipay.recon.classify import Action, Class
from utilipay.recon.columnar import Kept
from utilipay.recon.corrections import Applied
from utilipay.recon.service import STEPS, RunReport

recon_app = typer.Typer(help="Reconciliation (对账): hub ↔ channel ↔ utility, per business day.")
Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@recon_app.command("run")
def run(
    day: Annotated[str, typer.Option("--date", help="business day (Asia/Shanghai), YYYY-MM-DD")],
    channel: Annotated[str | None, typer.Option(help="only this channel's statement")] = None,
    biller: Annotated[str | None, typer.Option(help="only this biller (and its branches)")] = None,
    cutoff: Annotated[
        int, typer.Option(help="minutes around midnight a record may be carried across")
    ] = 15,
    as_json: Json = False,
) -> None:
    """Match the hub's payments, the channels' and the utilities' statements; classify all."""
    business_day = parse_day(day)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("reconciling", total=len(STEPS))

        def step(what: str) -> None:
            progress.update(task, description=what, completed=STEPS.index(what))

        async def work(conn: AsyncConnection) -> RunReport:
            return await service.run_day(
                conn, SystemClock(), business_day, actor=default_actor(), channel=channel,
                biller=biller, cutoff=timedelta(minutes=cutoff), step=step,
            )  # fmt: skip

        report = run_in_transaction(work)
    _print(report, as_json)


@recon_app.command("keep-payments")
def keep_payments(
    day: Annotated[str, typer.Option("--date", help="business day (Asia/Shanghai), YYYY-MM-DD")],
    as_json: Json = False,
) -> None:
    """Keep a business day's payments as a file its runs read while they are unchanged
    (a nightly job, once the day and its cut-off are over)."""
    business_day = parse_day(day)
    clock = SystemClock()

    async def work(engine: AsyncEngine) -> payments_file.KeptDay:
        async with engine.connect() as conn:  # the fingerprint and the rows: one snapshot
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await payments_file.keep(conn, business_day, Kept.of_hub(), clock.now())

    done = run_steps(work)
    taken = done.fingerprint
    if as_json:
        console.print_json(data={"date": business_day.isoformat(), "payments": taken.rows,
                                 "fingerprint": str(taken), "written": done.written})  # fmt: skip
        return
    again = "" if done.written else ": the file kept before holds them, unchanged"
    console.print(f"kept {taken.rows:,} payments of {business_day}{again} (fingerprint {taken})")


@recon_app.command("show")
def show(
    run_id: Annotated[int | None, typer.Argument(metavar="RUN")] = None,
    day: Annotated[str | None, typer.Option("--date", help="the day's last run")] = None,
    as_json: Json = False,
) -> None:
    """A run's counts per class, its breaks and their corrections."""
    if (run_id is None) == (day is None):
        raise typer.BadParameter("name a RUN or a --date")

    async def work(conn: AsyncConnection) -> RunReport:
        found = (
            run_id if run_id is not None else await service.latest_run(conn, parse_day(day or ""))
        )
        return await service.report(conn, found)

    _print(run_in_transaction(work), as_json)


@recon_app.command("apply")
def apply(
    run_id: Annotated[int, typer.Argument(metavar="RUN")],
    reason: Annotated[str, typer.Option(help="why: for the audit log")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what, change nothing")] = False,
    only: Annotated[
        str | None, typer.Option(help="only this class of break (or this action)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Apply a run's proposed corrections (each once; audited)."""
    known = {c.value for c in Class} | {a.value for a in Action}
    if only is not None and only.upper() not in known:
        raise typer.BadParameter(f"--only takes one of {', '.join(sorted(known))}")
    clock = SystemClock()

    async def work(engine: AsyncEngine) -> list[Applied]:
        billers = RemoteBillers(clock)
        try:
            return await corrections.apply(
                engine, clock, run_id, billers, actor=default_actor(), reason=reason,
                only=only.upper() if only else None, dry_run=dry_run,
            )  # fmt: skip
        finally:
            await billers.close()

    done = run_steps(work)
    if as_json:
        console.print_json(data={"run": run_id, "dry_run": dry_run,
                                 "corrections": [d.as_json() for d in done]})  # fmt: skip
        return
    table = Table("item", "action", "order", "outcome", title=f"run {run_id} corrections")
    for d in done:
        table.add_row(str(d.item_no), d.action, d.order_id, d.outcome)
    console.print(table if done else "no corrections to apply")


def _print(report: RunReport, as_json: bool) -> None:
    if as_json:
        console.print_json(data=report.as_json())
    else:
        show_report(console, report)


def show_report(out: Console, report: RunReport) -> None:
    """A run's counts per class, the statements it missed, and its breaks (the first 50)."""
    run: dict[str, Any] = report.run
    counts = Table("class", "records", title=f"run {run['id']}: {run['business_date']}")
    for name, n in run["counts"].items():
        counts.add_row(name, f"{n:,}")
    out.print(counts)
    for missing in run["sources"].get("missing", []):
        out.print(
            f"[yellow]no statement[/yellow] of {missing['party']} {missing['code']}: "
            f"{missing['payments']} write-offs not reconciled"
        )
    if report.breaks:
        breaks = Table("item", "class", "order", "hub", "channel", "utility", "action")
        for b in report.breaks[:50]:
            breaks.add_row(
                str(b["item_no"]), b["class"], b["order_id"] or b["payment_id"] or "",
                f"{b['hub_status'] or '-'} {b['hub_amount'] or ''}",
                f"{b['channel_lines']} × {b['channel_amount'] or ''}",
                f"{b['utility_status'] or '-'} {b['utility_amount'] or ''}", b["action"] or "",
            )  # fmt: skip
        out.print(breaks)

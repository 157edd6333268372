"""``utilipay billing …``: the monthly bill run from readings, a bill's detail, the due days.

``billing run BILLER --period 2026-10 --as-of 2026-11-01`` runs as if on that day (the
bills are issued at its start, Asia/Shanghai, and due from it), so an operator or a
test can replay a run; without ``--as-of`` it runs now.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billruns import detail
from utilipay.billruns import service as run
from utilipay.cli.runtime import console, default_actor, err_console, run_in_transaction
from utilipay.clock import SHANGHAI, Clock, FrozenClock, SystemClock, business_date
from utilipay.money import format_yuan

billing_app = typer.Typer(help="Hosted billing from meter readings: the monthly bill run.")
# The clock that says what "now" is; tests set another.
clock: Clock = SystemClock()


def _as_of(text: str) -> datetime:
    """YYYY-MM-DD (the start of that day in Shanghai), or an instant with its offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), SHANGHAI)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} must be YYYY-MM-DD or an ISO instant") from None
    if instant.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs an offset, e.g. 2026-11-01T09:00+08:00")
    return instant


def _clock_as_of(as_of: datetime | None) -> Clock:
    if as_of is None:
        return clock
    if as_of > clock.now():
        today = business_date(clock.now())
        raise typer.BadParameter(f"{as_of.isoformat()} has not come yet (today is {today})")
    return FrozenClock(as_of)


@billing_app.command("run")
def billing_run(
    biller: str,
    period: Annotated[str, typer.Option(help="the month billed, YYYY-MM")],
    as_of: Annotated[
        datetime | None,
        typer.Option(parser=_as_of, metavar="DATE", help="run as of this day [default: now]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    actor: Annotated[str | None, typer.Option(help="who runs it, for the audit log")] = None,
) -> None:
    """Bill a hosted biller's month from its readings: once per account, safe to repeat."""
    at = _clock_as_of(as_of)
    with Progress(console=err_console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"billing {biller} {period}", total=len(run.STEPS))

        def step(name: str) -> None:
            progress.update(task, completed=run.STEPS.index(name), description=f"{name}")

        async def work(conn: AsyncConnection) -> run.RunReport:
            return await run.run_billing(
                conn, at, biller=biller, period=period, actor=actor or default_actor(), step=step
            )

        report = run_in_transaction(work)
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return
    _print_report(report)


def _print_report(report: run.RunReport) -> None:
    console.print(
        f"[bold]{report.biller} {report.period}[/bold] as of {report.as_of} (run {report.run_id}):"
        f" {report.bills_issued} bills, {format_yuan(report.amount)} yuan, due {report.due_date}"
    )
    table = Table("accounts", "count")
    for label, count in (
        ("billed now", report.bills_issued),
        ("  of them on estimated usage", report.estimated),
        ("billed for the month already", report.already_billed),
        ("awaiting readings", report.awaiting_readings),
        ("no tariff prices them", report.unpriced),
        ("a later month is billed already", report.out_of_order),
        ("nothing due", report.nothing_due),
        ("prepaid (settled daily)", report.prepaid),
    ):
        table.add_row(label, str(count))
    console.print(table)


@billing_app.command("show")
def billing_show(
    biller: str, bill_no: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """A bill made from readings, line by line: registers, bands, the fixed charge."""

    async def work(conn: AsyncConnection) -> detail.BillDetail:
        return await detail.bill_detail(conn, biller, bill_no)

    found = run_in_transaction(work)
    if as_json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
        return
    estimated = " (estimated usage)" if found.estimated else ""
    console.print(
        f"[bold]{found.biller} {found.bill_no}[/bold] {found.account_no} {found.period}: "
        f"{format_yuan(found.amount)} yuan, due {found.due_date}, {found.status}{estimated}"
    )
    for s in found.segments:
        console.print(
            f"{s.first_day}–{s.last_day}: {s.usage} at {s.tariff_code}, after {s.used_before} "
            f"since {s.band_start}"
        )
    table = Table("line", "from–to", "units", "yuan/unit", "charge (yuan)")
    for x in found.lines:
        label = {"register": x.register, "band": f"band {x.band}"}.get(x.kind, x.kind)
        span = f"{x.from_units}–{x.to_units}" if x.kind == "band" else ""
        units = "" if x.units is None else str(x.units)
        price = "" if x.price is None else str(x.price)
        table.add_row(str(label), span, units, price, f"{x.exact_fen.scaleb(-2).normalize():f}")
    table.add_row("[bold]total[/bold]", "", "", "", f"[bold]{format_yuan(found.amount)}[/bold]")
    console.print(table)


@billing_app.command("due-days")
def billing_due_days(
    biller: str,
    days: Annotated[int, typer.Argument(help="days after a run its bills are due")],
    actor: Annotated[str | None, typer.Option(help="who sets it, for the audit log")] = None,
) -> None:
    """Set how many days after a bill run its bills are due (default 15)."""

    async def work(conn: AsyncConnection) -> int:
        return await run.set_due_days(
            conn, clock, biller=biller, days=days, actor=actor or default_actor()
        )

    was = run_in_transaction(work)
    console.print(f"{biller}: bills from a run are due {days} days after it (was {was})")

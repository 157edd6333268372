"""``utilipay prepaid …``: smart payment (智能交费) from the command line, each step as of a
date or an instant, so an operator (or a test) can replay a day."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.cli.runtime import (
    console,
    default_actor,
    parse_day,
    run_in_transaction,
    run_with_engine,
)
from utilipay.clock import Clock, FrozenClock, SystemClock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import format_yuan
from utilipay.prepaid import service
from utilipay.prepaid.accrual import DayAccrued, accrue_through, first_day_due
from utilipay.prepaid.cuts import cut_due, held_for_warning
from utilipay.prepaid.statements import issue_statements, last_month

prepaid_app = typer.Typer(help="Prepaid smart payment (智能交费): balances, daily accrual, cuts.")


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise typer.BadParameter(f"{text!r} must be YYYY-MM") from None


def _clock(now: str | None) -> Clock:
    if now is None:
        return SystemClock()
    instant = datetime.fromisoformat(now)
    if instant.tzinfo is None:
        raise typer.BadParameter(f"{now!r} needs an offset, e.g. 2026-11-21T10:00:00+08:00")
    return FrozenClock(instant)


Now = Annotated[str | None, typer.Option(help="as of this instant, e.g. 2026-11-21T10:00+08:00")]


@prepaid_app.command("enroll")
def prepaid_enroll(
    biller: str,
    account: str,
    reminder: Annotated[int | None, typer.Option(help="fen [default: the biller's]")] = None,
    start: Annotated[
        date | None, typer.Option("--from", parser=parse_day, help="settle usage from this day")
    ] = None,
) -> None:
    """Put a hosted account on prepaid: a balance at zero, usage settled daily."""
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> service.PrepaidAccount:
        return await service.enroll(
            conn, clock, biller, account, reminder=reminder, accrue_from=start,
            actor=default_actor(),
        )  # fmt: skip

    found = run_in_transaction(work)
    console.print(
        f"{biller} {account}: prepaid, balance {format_yuan(found.balance)} yuan, "
        f"{found.state}, settled from {start or business_date(clock.now())}"
    )


@prepaid_app.command("accrue")
def prepaid_accrue(
    day: Annotated[
        date | None,
        typer.Option(
            "--date", parser=parse_day, help="settle through this day [default: yesterday]"
        ),
    ] = None,
    now: Now = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Settle every prepaid account's usage, day by day, through DATE (日结)."""
    clock = _clock(now)
    last = day or business_date(clock.now()) - timedelta(days=1)
    done = run_with_engine(lambda engine: _accrue(engine, clock, last, quiet=as_json))
    if as_json:
        print(json.dumps([_day_out(d) for d in done], ensure_ascii=False))
        return
    table = Table("day", "accounts", "posted (yuan)", "warnings", "no tariff")
    for d in done:
        table.add_row(str(d.day), str(d.accounts), format_yuan(d.posted), str(d.notices),
                      str(d.unpriced))  # fmt: skip
    console.print(table if done else f"nothing to settle through {last}")


async def _accrue(
    engine: AsyncEngine, clock: Clock, last: date, *, quiet: bool
) -> list[DayAccrued]:
    async with engine.connect() as conn:
        first = await first_day_due(conn)
    days = (last - first).days + 1 if first else 0
    with Progress(console=console, disable=quiet or days < 2) as progress:
        task = progress.add_task("settling days", total=max(days, 0))
        return await accrue_through(engine, clock, last, on_day=lambda _: progress.advance(task))


def _day_out(d: DayAccrued) -> dict[str, Any]:
    return {"day": d.day.isoformat(), "accounts": d.accounts, "posted": d.posted,
            "warnings": d.notices, "unpriced": d.unpriced}  # fmt: skip


@prepaid_app.command("cut")
def prepaid_cut(now: Now = None) -> None:
    """Cut supply to accounts whose arrears outlived the grace (working days, 09:00-17:00),
    the grace counted from the outage warning too."""
    clock = _clock(now)

    async def work(conn: AsyncConnection) -> tuple[int, int]:
        return await cut_due(conn, clock.now()), await held_for_warning(conn, clock.now())

    cut, held = run_in_transaction(work)
    console.print(f"{cut} account(s) cut as of {clock.now().isoformat()}")
    if held:
        console.print(
            f"{held} account(s) in arrears past the grace not cut: their outage warning has "
            "not gone out in this episode, or went out less than the grace period ago"
        )


@prepaid_app.command("statements")
def prepaid_statements(
    month: Annotated[
        date | None, typer.Option(parser=_month, help="YYYY-MM [default: last month]")
    ] = None,
    now: Now = None,
) -> None:
    """Issue the monthly statements of MONTH for the accounts settled through its end."""
    clock = _clock(now)
    first = month or last_month(business_date(clock.now()))

    async def work(conn: AsyncConnection) -> int:
        return await issue_statements(conn, first, clock.now())

    console.print(f"{run_in_transaction(work)} statement(s) issued for {first:%Y-%m}")


@prepaid_app.command("show")
def prepaid_show(
    biller: str, account: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """A prepaid account's balance and state."""

    async def work(conn: AsyncConnection) -> service.PrepaidAccount:
        hosted = await billers_service.hosted_biller(conn, biller, "prepaid accounts")
        found = await service.find(conn, hosted, account)
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"{biller} {account} is not prepaid")
        return found

    found = run_in_transaction(work)
    out = {
        "biller": biller, "account": found.account_no, "balance": found.balance,
        "currency": found.currency, "state": found.state.value, "reminder": found.reminder,
        "state_since": found.state_since.isoformat(),
        "settled_through": found.accrued_through.isoformat() if found.accrued_through else None,
    }  # fmt: skip
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
        return
    console.print(
        f"{biller} {account}: balance {format_yuan(found.balance)} yuan, {found.state.value} "
        f"since {found.state_since:%Y-%m-%d %H:%M} UTC, reminder at "
        f"{format_yuan(found.reminder)} yuan, settled through {out['settled_through']}"
    )

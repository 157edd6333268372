"""``utilipay autopay run`` and ``utilipay accounts update``: auto-pay from the command line."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay.engine import AutopayPass
from utilipay.billing import contacts
from utilipay.cli.runtime import console, default_actor, ready_url, run_in_transaction
from utilipay.clock import Clock, FrozenClock, SystemClock
from utilipay.worker.context import WorkerContext

autopay_app = typer.Typer(help="Auto-pay mandates (自动缴费): the debit engine.")
accounts_app = typer.Typer(help="Customer accounts: the payer's contacts for messages.")


def _instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs an offset, e.g. 2026-02-16T10:00:00+08:00")
    return instant


@autopay_app.command("run")
def autopay_run(
    now: Annotated[
        str | None, typer.Option(help="run as of this instant, e.g. 2026-02-16T10:00:00+08:00")
    ] = None,
) -> None:
    """One pass of the engine: poll remote bills, schedule debits, send the due ones."""
    clock: Clock = FrozenClock(_instant(now)) if now else SystemClock()
    url = ready_url()

    async def work() -> AutopayPass:
        context = WorkerContext.from_url(url, clock)
        await context.start()
        try:
            return await context.run_autopay()
        finally:
            await context.stop()

    done = asyncio.run(work())
    table = Table("step", "count", "results", title=f"autopay as of {clock.now().isoformat()}")
    table.add_row("remote polls", str(done.polled.attempted), str(done.polled.results))
    table.add_row("debits scheduled", str(sum(done.scheduled.values())), str(done.scheduled))
    table.add_row("debits worked", str(done.sent.attempted), str(done.sent.results))
    console.print(table)


@accounts_app.command("update")
def accounts_update(
    biller: str,
    account: str,
    phone: Annotated[str | None, typer.Option(help="for SMS; '' removes it")] = None,
    email: Annotated[str | None, typer.Option(help="'' removes it")] = None,
    language: Annotated[str | None, typer.Option(help="zh-CN or en")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Set where an account holder's messages go (the account is created if the biller is
    remote and the hub has not stored it yet)."""

    async def work(conn: AsyncConnection) -> None:
        await contacts.set_contacts(
            conn,
            SystemClock(),
            biller,
            account,
            phone=phone,
            email=email,
            language=language,
            actor=actor or default_actor(),
        )

    run_in_transaction(work)
    console.print(f"account {biller}/{account} updated")

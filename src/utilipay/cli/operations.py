"""``utilipay worker``, ``statement`` and ``exceptions``: running and watching the hub."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.cli.runtime import console, default_actor, ready_url, run_in_transaction
from utilipay.clock import SystemClock
from utilipay.db.engine import libpq_url
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import format_yuan
from utilipay.payments import exceptions
from utilipay.statements.service import Statement, build
from utilipay.worker.context import WorkerContext
from utilipay.worker.jobs import build_app, run_worker

exceptions_app = typer.Typer(help="Payments whose reversal could not be completed (for people).")


def worker(
    concurrency: Annotated[int, typer.Option(help="jobs run at once")] = 4,
) -> None:
    """Run background work: outbox dispatch, payment resolution, webhooks (procrastinate)."""
    url = ready_url()
    app = build_app(libpq_url(url))
    console.print("[bold]utilipay worker[/bold] running; Ctrl-C stops it")
    asyncio.run(run_worker(app, WorkerContext.from_url(url), concurrency=concurrency))


def statement(
    biller: str,
    day: Annotated[str, typer.Argument(metavar="DATE", help="business day, YYYY-MM-DD")],
    out: Annotated[
        Path | None, typer.Option(help="file to write [default: BILLER_yyyyMMdd.txt]")
    ] = None,
) -> None:
    """Write a biller's daily statement (对账单), byte for byte as biller-protocol.md §6."""
    try:
        statement_day = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not YYYY-MM-DD") from None

    async def work(conn: AsyncConnection) -> Statement:
        found = await billers_repo.by_code(conn, biller)
        if found is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller}")
        return await build(conn, found, statement_day, SystemClock().now())

    result = run_in_transaction(work)
    path = out or Path(f"{biller}_{statement_day:%Y%m%d}.txt")
    path.write_bytes(result.render().encode("utf-8"))
    console.print(
        f"{path}: {len(result.lines)} lines, net {result.net} fen ({format_yuan(result.net)} yuan)"
    )


@exceptions_app.command("list")
def exceptions_list() -> None:
    """Open exceptions, oldest first."""
    found = run_in_transaction(exceptions.list_open)
    table = Table("id", "payment", "order", "account", "amount (fen)", "opened", "why")
    for e in found:
        table.add_row(
            str(e.id), e.payment_id, e.order_id, e.account_no, str(e.amount),
            e.opened_at.astimezone().strftime("%Y-%m-%d %H:%M"), e.reason,
        )  # fmt: skip
    console.print(table if found else "no open exceptions")


@exceptions_app.command("resolve")
def exceptions_resolve(
    exception_id: Annotated[int, typer.Argument(metavar="ID")],
    outcome: Annotated[exceptions.Resolution, typer.Option(case_sensitive=False)],
    reason: Annotated[str, typer.Option(help="why: what the utility said, and who said it")],
    biller_serial: Annotated[
        str | None, typer.Option(help="for WRITTEN_OFF: the utility's write-off serial")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="who resolves it, for the audit log")] = None,
) -> None:
    """Record what the utility said happened to an exception's payment."""

    async def work(conn: AsyncConnection) -> str:
        return await exceptions.resolve(
            conn,
            SystemClock(),
            exception_id,
            outcome,
            actor=actor or default_actor(),
            reason=reason,
            biller_serial=biller_serial,
        )

    console.print(f"exception {exception_id} resolved: payment {run_in_transaction(work)}")

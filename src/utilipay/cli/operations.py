"""``utilipay worker``, ``statement`` and ``exceptions``: running and watching the hub."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

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
from utilipay.worker.stopping import note_stop_signals

# The line a worker prints once it runs: the fault campaign waits for it before it kills.
WORKER_RUNNING = "utilipay worker running"

exceptions_app = typer.Typer(
    help="The work queue for people: reversals that could not be completed, and the breaks "
    "reconciliation left for a person."
)


def worker(
    concurrency: Annotated[int, typer.Option(help="jobs run at once")] = 4,
) -> None:
    """Run background work: outbox dispatch, payment resolution, webhooks (procrastinate)."""
    stop_requested = note_stop_signals()  # first: a stop during start-up must not be lost
    from utilipay.worker.jobs import build_app, run_worker  # noqa: PLC0415 (heavy; this command only)

    url = ready_url()
    app = build_app(libpq_url(url))
    console.print(f"[bold]{WORKER_RUNNING}[/bold]; Ctrl-C stops it")
    context = WorkerContext.from_url(url)
    with contextlib.suppress(asyncio.CancelledError):  # a stop signal: passes finished
        asyncio.run(
            run_worker(app, context, stop_requested=stop_requested, concurrency=concurrency)
        )
    console.print("utilipay worker stopped")


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
def exceptions_list(
    kind: Annotated[
        exceptions.Kind | None, typer.Option(case_sensitive=False, help="only this kind")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="every field, evidence too")] = False,
) -> None:
    """Open exceptions, oldest first: payments whose reversal could not be completed, and
    the breaks reconciliation left for a person, with their evidence."""

    async def work(conn: AsyncConnection) -> list[exceptions.OpenException]:
        return await exceptions.list_open(conn, kind)

    found = run_in_transaction(work)
    if as_json:
        console.print_json(data={"exceptions": [_exception_json(e) for e in found]})
        return
    table = Table("id", "kind", "payment / order", "account", "amount (fen)", "opened", "why",
                  "evidence", "outcomes")  # fmt: skip
    for e in found:
        table.add_row(
            str(e.id), e.kind, e.payment_id or f"{e.channel_code} {e.order_id}",
            e.account_no or "", "" if e.amount is None else str(e.amount),
            e.opened_at.astimezone().strftime("%Y-%m-%d %H:%M"), e.reason,
            _evidence_line(e.evidence), " ".join(e.outcomes),
        )  # fmt: skip
    console.print(table if found else "no open exceptions")


def _exception_json(e: exceptions.OpenException) -> dict[str, Any]:
    return {**asdict(e), "opened_at": e.opened_at.isoformat(), "outcomes": list(e.outcomes)}


def _evidence_line(evidence: dict[str, Any] | None) -> str:
    """The run's evidence in a line: each side's status or lines, amount and time."""
    if not evidence:
        return ""
    sides = []
    for side in ("hub", "channel", "utility"):
        seen = evidence.get(side)
        if seen is None:
            sides.append(f"{side}: none")
            continue
        line = seen.get("statement") or {}
        where = f" {line['file']}:{line['line']}" if line else ""
        state = seen.get("status") or f"{seen.get('net_lines')} line(s)"
        sides.append(f"{side}: {state} {seen.get('amount')} fen {seen.get('at', '')}{where}")
    return "; ".join(sides)


REFERENCE_HELP = (
    "for REFUNDED: the channel's refund reference; for BOOKED_LATE: the payment that booked "
    "the order"
)


REFERENCE_HELP = (
    "for REFUNDED: the channel's refund reference; for BOOKED_LATE: the payment that booked "
    "the order"
)


@exceptions_app.command("resolve")
def exceptions_resolve(
    exception_id: Annotated[int, typer.Argument(metavar="ID")],
    outcome: Annotated[exceptions.Resolution, typer.Option(case_sensitive=False)],
    reason: Annotated[str, typer.Option(help="why: what the utility said, and who said it")],
    biller_serial: Annotated[
        str | None, typer.Option(help="for WRITTEN_OFF: the utility's write-off serial")
    ] = None,
    reference: Annotated[str | None, typer.Option(help=REFERENCE_HELP)] = None,
    actor: Annotated[str | None, typer.Option(help="who resolves it, for the audit log")] = None,
) -> None:
    """Record what a person found out or did about an exception (audited)."""

    async def work(conn: AsyncConnection) -> str:
        return await exceptions.resolve(
            conn,
            SystemClock(),
            exception_id,
            outcome,
            actor=actor or default_actor(),
            reason=reason,
            biller_serial=biller_serial,
            reference=reference,
        )

    state = run_in_transaction(work)
    console.print(f"exception {exception_id} resolved {outcome}: {state}", soft_wrap=True)

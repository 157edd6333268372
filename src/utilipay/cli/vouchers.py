"""``utilipay vouchers …``: recharge vouchers (电费充值卡/券, channel-api.md §12)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import console, default_actor, err_console, parse_day, run_in_transaction
from utilipay.clock import SystemClock
from utilipay.money import format_yuan
from utilipay.vouchers import service
from utilipay.vouchers.expiry import Expired, expire
from utilipay.vouchers.issue import IssuedBatch, IssueOrder, issue_batch
from utilipay.vouchers.service import BatchFigures, Changed, Selection

vouchers_app = typer.Typer(
    help="Recharge vouchers (电费充值卡/券): issue, sell, void, expire, list."
)

Batch = Annotated[int | None, typer.Option("--batch", help="a whole batch")]
Serial = Annotated[str | None, typer.Option("--serial", help="one voucher, or a range's first")]
ToSerial = Annotated[str | None, typer.Option("--to-serial", help="a range's last serial")]


def _issue_file(path: Path) -> int:
    """The issue file, created for its owner only (0600); an existing file is never
    overwritten: its PINs may be the only copy."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        err_console.print(f"[red]error:[/red] {path} exists: choose another --out")
        raise typer.Exit(1) from None
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot create {path}: {exc.strerror}")
        raise typer.Exit(1) from None


@vouchers_app.command("issue")
def vouchers_issue(
    biller: Annotated[str, typer.Option(help="the hosted utility's code")],
    count: Annotated[int, typer.Option(help="how many vouchers")],
    face: Annotated[int, typer.Option(help="face value in fen")],
    expires: Annotated[date, typer.Option(parser=parse_day, help="last day of use, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option(help="the issue file (serials and PINs, shown once)")],
) -> None:
    """Issue a batch: serials and PINs written once to --out (owner-only); the hub keeps
    only a keyed hash of each PIN."""
    fd = _issue_file(out)
    order = IssueOrder(biller, count, face, expires)
    try:
        with os.fdopen(fd, "w", newline="") as handle, Progress(console=err_console) as bar:
            writer = csv.writer(handle)
            writer.writerow(["serial", "pin", "face", "expires"])
            task = bar.add_task("issuing vouchers", total=count)

            def sink(lines: Sequence[tuple[str, str]]) -> None:
                writer.writerows((s, p, face, expires.isoformat()) for s, p in lines)

            async def work(conn: AsyncConnection) -> IssuedBatch:
                return await issue_batch(
                    conn, SystemClock(), order, sink=sink, actor=default_actor(),
                    progress=lambda n: bar.advance(task, n),
                )  # fmt: skip

            done = run_in_transaction(work)
    except BaseException:
        out.unlink(missing_ok=True)  # nothing was issued: its PINs must not circulate
        raise
    console.print(
        f"batch {done.id}: {done.count} vouchers of {format_yuan(done.face)} yuan for "
        f"{done.biller}, valid to {done.expires_on}; PINs in {out} (shown once, keep it safe)"
    )


def _selection(batch: int | None, serial: str | None, to_serial: str | None) -> Selection:
    return Selection(batch=batch, first=serial, last=to_serial)


def _say(verb: str, done: Changed) -> None:
    console.print(
        f"batch {done.batch_id}: {done.count} vouchers {verb} ({format_yuan(done.amount)} yuan)"
    )


@vouchers_app.command("activate")
def vouchers_activate(
    batch: Batch = None,
    serial: Serial = None,
    to_serial: ToSerial = None,
    outlet: Annotated[
        str | None, typer.Option(help="CHANNEL/OUTLET that sold them; its float pays")
    ] = None,
) -> None:
    """Mark vouchers sold (ACTIVE): by a batch or serials, optionally by a selling outlet."""
    seller: tuple[str, str] | None = None
    if outlet is not None:
        channel, _, code = outlet.partition("/")
        if not channel or not code:
            raise typer.BadParameter("--outlet must be CHANNEL/OUTLET")
        seller = (channel, code)

    async def work(conn: AsyncConnection) -> Changed:
        return await service.activate(conn, SystemClock(), _selection(batch, serial, to_serial),
                                      outlet=seller, actor=default_actor())  # fmt: skip

    _say("sold", run_in_transaction(work))


@vouchers_app.command("void")
def vouchers_void(
    reason: Annotated[str, typer.Option(help="why (recorded in the audit log)")],
    batch: Batch = None,
    serial: Serial = None,
    to_serial: ToSerial = None,
) -> None:
    """Void unsold vouchers (lost or stolen stock)."""

    async def work(conn: AsyncConnection) -> Changed:
        return await service.void(conn, SystemClock(), _selection(batch, serial, to_serial),
                                  reason=reason, actor=default_actor())  # fmt: skip

    _say("voided", run_in_transaction(work))


@vouchers_app.command("expire")
def vouchers_expire() -> None:
    """Expire the vouchers past their last day (the worker does it daily)."""

    async def work(conn: AsyncConnection) -> Expired:
        return await expire(conn, SystemClock(), actor=default_actor())

    done = run_in_transaction(work)
    console.print(f"{done.vouchers} vouchers expired, breakage {format_yuan(done.breakage)} yuan")


@vouchers_app.command("list")
def vouchers_list(
    biller: Annotated[str, typer.Option(help="the utility's code")],
    batch: Batch = None,
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """A utility's batches with how many vouchers are in each state."""

    async def work(conn: AsyncConnection) -> list[BatchFigures]:
        return await service.batches(conn, biller, batch)

    found = run_in_transaction(work)
    if as_json:
        console.print_json(json.dumps([b.as_json() for b in found], ensure_ascii=False))
        return
    table = Table("batch", "face (yuan)", "count", "expires", *service.STATES)
    for b in found:
        table.add_row(str(b.id), format_yuan(b.face), str(b.count), str(b.expires_on),
                      *(str(b.states[s]) for s in service.STATES))  # fmt: skip
    console.print(table)

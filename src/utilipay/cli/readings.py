"""``utilipay readings …``: import meters and meter readings, look at the usage they make."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.cli.runtime import (
    console,
    default_actor,
    err_console,
    in_transaction,
    parse_day,
    run_with_engine,
)
from utilipay.clock import Clock, SystemClock, business_date
from utilipay.common.files import FileRejected
from utilipay.errors import DomainError, ErrorCode
from utilipay.readings import files, repository
from utilipay.readings.schemas import SHOWN_WARNINGS, ImportReport

readings_app = typer.Typer(help="Meters and meter readings (抄表数据): import, daily usage.")
# The clock that says what "now" is (reads from the future are refused); tests set another.
clock: Clock = SystemClock()
T = TypeVar("T")


def _run(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work`` in one transaction; a refusal propagates (the caller words it)."""
    return run_with_engine(in_transaction(work))


def _fail(exc: DomainError, as_json: bool) -> typer.Exit:
    if as_json:
        errors = exc.errors if isinstance(exc, FileRejected) else []
        console.print_json(
            json.dumps(
                {
                    "ok": False,
                    "error": exc.detail,
                    "errors": [{"line": e.line, "message": e.message} for e in errors],
                },
                ensure_ascii=False,
            )
        )
    else:
        err_console.print(f"[red]error:[/red] {escape(exc.detail)}", highlight=False)
    return typer.Exit(1)


class _Bars:
    """A spinner while the file is checked, then a bar per table as rows are written."""

    def __init__(self, progress: Progress, source: str) -> None:
        self.progress = progress
        self.checking: TaskID | None = progress.add_task(f"checking {source}", total=None)
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if self.checking is not None:
            self.progress.remove_task(self.checking)
            self.checking = None
        if table not in self.tasks:
            self.tasks[table] = self.progress.add_task(f"writing {table}", total=total)
        self.progress.update(self.tasks[table], completed=done)


def _print_report(report: ImportReport) -> None:
    counts = ", ".join(f"{n} {what}" for what, n in report.counts.items())
    console.print(
        f"{escape(report.source)}: {report.kind} imported (#{report.import_id}): {counts}",
        highlight=False,
    )
    for warning in report.warnings[:SHOWN_WARNINGS]:
        console.print(f"  [yellow]warning[/yellow] {escape(str(warning))}", highlight=False)
    hidden = len(report.warnings) - SHOWN_WARNINGS
    if hidden > 0:
        kinds = ", ".join(f"{code}: {n}" for code, n in sorted(report.by_code().items()))
        console.print(f"  … and {hidden} more warnings ({kinds})", highlight=False)


@readings_app.command("import")
def readings_import(
    file: Path,
    biller: Annotated[
        str | None, typer.Option(help="only this biller's lines (and its meter, for XML)")
    ] = None,
    meter: Annotated[str | None, typer.Option(help="the meter a Green Button file is for")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """Import a meters CSV, a reads CSV or Green Button XML: all of it, or nothing and
    every bad line named (exit 1)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        unreadable = DomainError(ErrorCode.NOT_FOUND, f"cannot read {file}: {exc.strerror}")
        raise _fail(unreadable, as_json) from None

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, console=err_console, transient=True) as progress:
            bars = _Bars(progress, file.name)

            async def work(conn: AsyncConnection) -> ImportReport:
                return await files.import_file(
                    conn, clock, data, source=str(file), actor=default_actor(),
                    meter_id=meter, biller=biller, progress=bars,
                )  # fmt: skip

            report = _run(work)
    except DomainError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        console.print_json(json.dumps({"ok": True, **report.as_json()}, ensure_ascii=False))
    else:
        _print_report(report)


@readings_app.command("usage")
def readings_usage(
    biller: str,
    account: str,
    first: Annotated[
        date | None,
        typer.Option(
            "--from", parser=parse_day, metavar="YYYY-MM-DD", help="[default: 1st of the month]"
        ),
    ] = None,
    last: Annotated[
        date | None,
        typer.Option(
            "--to", parser=parse_day, metavar="YYYY-MM-DD", help="included [default: today]"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """An account's usage per day and register (days its meters covered completely)."""
    last = last or business_date(clock.now())
    first = first or last.replace(day=1)

    async def work(conn: AsyncConnection) -> list[tuple[date, str, Decimal, bool]]:
        found = await billers_repo.by_code(conn, biller)
        if found is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller}")
        return await repository.daily_rows(conn, found.id, account, first, last)

    try:
        rows = _run(work)
    except DomainError as exc:
        raise _fail(exc, as_json) from None
    totals: dict[str, Decimal] = {}
    for _, register, quantity, _ in rows:
        totals[register] = totals.get(register, Decimal(0)) + quantity
    missing = (last - first).days + 1 - len({d for d, *_ in rows})
    if as_json:
        days = [{"day": str(d), "register": r, "quantity": str(q), "estimated": e}
                for d, r, q, e in rows]  # fmt: skip
        total = {r: str(q) for r, q in totals.items()}
        console.print_json(data={"days": days, "totals": total, "days_without_usage": missing})
        return
    table = Table("day", "register", "usage", "estimated", title=escape(f"{biller} {account}"))
    for d, r, q, e in rows:
        table.add_row(str(d), r, str(q), "estimated" if e else "")
    console.print(table)
    console.print(
        f"{first} to {last}: "
        + (", ".join(f"{r} {q}" for r, q in totals.items()) or "no usage")
        + (f"; {missing} days not complete yet" if missing > 0 else ""),
        highlight=False,
    )

"""``utilipay recon import FILE``: a channel's, a utility's or a bank's statement into the
normalized form reconciliation reads (the lead registers it in ``recon_app``).

The format is told by the content (``--kind`` names it; a generic CSV needs ``--kind
generic_csv --layout LAYOUT.toml``). All of the file or nothing: a bad line is named by
its number (exit 1). A file whose own totals or balances disagree with its lines is
refused (exit 1) unless ``--accept-mismatch``: then it is imported with the disagreement
kept in its summary and shown here. The same file again imports nothing new.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import (
    console,
    default_actor,
    err_console,
    in_transaction,
    parse_day,
    run_with_engine,
)
from utilipay.clock import Clock, SystemClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import format_yuan
from utilipay.recon.sources.common import MAX_BYTES, Kind
from utilipay.recon.sources.generic import CsvLayout, layout_from_toml
from utilipay.recon.statements import ImportResult, StatementMismatch, import_statement

# The clock that stamps the import; tests set another.
clock: Clock = SystemClock()


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DomainError(
                ErrorCode.PAYLOAD_TOO_LARGE, f"{path} is larger than {MAX_BYTES} bytes"
            )
        return path.read_bytes()
    except OSError as exc:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"cannot read {what} {path}: {exc.strerror}"
        ) from None


def _layout(path: Path | None, kind: Kind | None) -> CsvLayout | None:
    if (path is None) != (kind is not Kind.GENERIC_CSV):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "--layout goes with --kind generic_csv, and only with it"
        )
    if path is None:
        return None
    try:
        return layout_from_toml(_read(path, "layout").decode("utf-8"))
    except UnicodeDecodeError:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"{path} is not UTF-8") from None


def _fail(exc: DomainError, as_json: bool) -> typer.Exit:
    if as_json:
        body = {"ok": False, "error": exc.detail,
                "errors": [{"line": e.line, "message": e.message}
                           for e in getattr(exc, "errors", [])]}  # fmt: skip
        if isinstance(exc, StatementMismatch):
            body["mismatches"] = [c.as_json() for c in exc.mismatches]
        console.print_json(json.dumps(body, ensure_ascii=False))
    else:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
    return typer.Exit(1)


def _print(result: ImportResult) -> None:
    if not result.created:
        console.print(f"{result.file_name}: already imported as #{result.import_id}; nothing new")
        return
    day = result.business_date or "several days"
    console.print(
        f"{result.file_name}: {result.kind} of {result.party} {result.party_code} for {day} "
        f"imported as #{result.import_id}: {result.line_count} lines, "
        f"net {format_yuan(result.total_amount)}",
        highlight=False,
    )
    for check in result.summary.get("checks", []):
        mark = "[green]ok[/green]" if check["ok"] else "[red]MISMATCH[/red]"
        console.print(f"  {mark} {check['what']}: file {check['declared']}, "
                      f"lines {check['computed']}", highlight=False)  # fmt: skip
    for note in result.summary.get("notes", []):
        console.print(f"  [yellow]note[/yellow] {note}", highlight=False)
    if result.float_deposits:
        console.print(f"  {result.float_deposits} line(s) credited to outlets' floats")
    if not result.matched:
        console.print(
            f"  [red]imported with a mismatch[/red], accepted by {result.summary['accepted_by']}"
        )


def recon_import(
    file: Path,
    kind: Annotated[
        Kind | None, typer.Option(help="the format [default: told by the content]")
    ] = None,
    party_code: Annotated[
        str | None,
        typer.Option(help="the channel or biller code, or the bank account (several in a file)"),
    ] = None,
    day: Annotated[
        date | None,
        typer.Option("--date", parser=parse_day, metavar="YYYY-MM-DD", help="the statement's day"),
    ] = None,
    layout: Annotated[Path | None, typer.Option(help="a generic CSV's layout (TOML)")] = None,
    accept_mismatch: Annotated[
        bool, typer.Option(help="import a file whose totals disagree with its lines, flagged")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="the result as JSON")] = False,
) -> None:
    """Import a statement (WeChat Pay, Alipay, biller, camt.053, MT940, generic CSV): all of
    it or nothing, every bad line named (exit 1)."""
    try:
        data = _read(file, "statement")
        csv_layout = _layout(layout, kind)
        result = _import(file.name, data, kind, party_code, day, csv_layout, accept_mismatch,
                         as_json)  # fmt: skip
    except DomainError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        console.print_json(json.dumps({"ok": True, **result.as_json()}, ensure_ascii=False))
    else:
        _print(result)


def _import(
    name: str,
    data: bytes,
    kind: Kind | None,
    party_code: str | None,
    day: date | None,
    layout: CsvLayout | None,
    accept_mismatch: bool,
    quiet: bool,
) -> ImportResult:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"reading {name}", total=None)

        def written(table: str, done: int, total: int) -> None:
            progress.update(task, description=f"writing {table}", completed=done, total=total)

        async def _work(conn: AsyncConnection) -> ImportResult:
            return await import_statement(
                conn, clock, data, file_name=name, actor=default_actor(), kind=kind,
                party_code=party_code, business_date=day, layout=layout,
                accept_mismatch=accept_mismatch, progress=written,
            )  # fmt: skip

        return run_with_engine(in_transaction(_work))

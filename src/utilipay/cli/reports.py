"""``utilipay reports NAME --from --to [--biller] [--by] [--json|--csv|--xlsx] [--out]``: a
collection report (``collection``, ``aging``, ``channel-mix``, ``prepaid``, ``autopay``)
for the hub's operators, who see every utility. A rich table by default.

One sub-command per report, made from one function, so ``utilipay reports --help`` lists
them and ``reports analysis`` (the monthly collection analysis) sits beside them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.analysis import analysis
from utilipay.cli.runtime import console, err_console, parse_day, run_in_transaction
from utilipay.clock import Clock, SystemClock
from utilipay.collection import directory, render, service, xlsx
from utilipay.collection.cells import is_number, shown
from utilipay.collection.schemas import Period, Report, ReportName, Scope

clock: Clock = SystemClock()  # tests set another


def _report(
    report_name: ReportName,
    start: str,
    end: str,
    biller: str | None,
    by: str | None,
    as_json: bool,
    as_csv: bool,
    as_xlsx: bool,
    out: Path | None,
) -> None:
    """A collection report for the business days --from to --to (both included)."""
    if sum((as_json, as_csv, as_xlsx)) > 1:
        raise typer.BadParameter("choose one of --json, --csv, --xlsx")
    if as_xlsx and out is None:
        raise typer.BadParameter("--xlsx writes a file: give --out FILE.xlsx")
    first, last = parse_day(start), parse_day(end)
    if last < first:
        raise typer.BadParameter(f"--from {first} is after --to {last}")

    async def work(conn: AsyncConnection) -> Report:
        biller_id = None if biller is None else await directory.biller_id_of(conn, biller)
        scope = Scope(biller_id, None)
        return await service.build_report(
            conn, clock, report_name, Period(first, last), scope, by=by
        )

    found = run_in_transaction(work)
    if as_xlsx:
        _write(out, xlsx.workbook([found]))
    elif as_csv:
        _write(out, render.report_csv(found))
    elif as_json:
        _write(out, json.dumps(render.report_json(found), ensure_ascii=False).encode() + b"\n")
    else:
        _print(found)


def _command(report_name: ReportName) -> Callable[..., None]:
    def command(
        start: Annotated[str, typer.Option("--from", help="the first business day, YYYY-MM-DD")],
        end: Annotated[str, typer.Option("--to", help="the last business day, YYYY-MM-DD")],
        biller: Annotated[
            str | None, typer.Option(help="a utility's code (with its branches)")
        ] = None,
        by: Annotated[
            str | None,
            typer.Option(help="biller, branch, region, channel-kind, channel or outlet"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        as_csv: Annotated[bool, typer.Option("--csv")] = False,
        as_xlsx: Annotated[bool, typer.Option("--xlsx")] = False,
        out: Annotated[Path | None, typer.Option(help="write to this file")] = None,
    ) -> None:
        _report(report_name, start, end, biller, by, as_json, as_csv, as_xlsx, out)

    command.__doc__ = f"The {report_name} report for the business days --from to --to."
    return command


reports_app = typer.Typer(
    help="Collection reports and the monthly collection analysis.", no_args_is_help=True
)
for _name in service.REPORTS:
    reports_app.command(_name.value)(_command(_name))
reports_app.command("analysis")(analysis)


def _write(out: Path | None, data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        err_console.print(f"wrote {out}", highlight=False)


def _print(found: Report) -> None:
    console.print(f"[bold]{found.title}[/bold] {found.period.start}..{found.period.end}")
    for note in found.notes:
        console.print(f"note: {note}", highlight=False)
    for table in found.tables:
        grid = Table(title=table.title)
        for column in table.columns:
            grid.add_column(column.title, justify="right" if is_number(column.kind) else "left")
        for row in table.rows:
            grid.add_row(*(shown(cell, c.kind) for c, cell in zip(table.columns, row, strict=True)))
        console.print(grid)

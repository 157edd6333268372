"""A report as JSON (the API's body, ``--json``) and as CSV (``--csv``, ``?format=csv``):
figures as the report holds them (fen as integers, rates as decimal strings), formatted
only by the column's kind; CSV through ``common/spreadsheet.py`` (no cell runs as a
formula), with yuan for amounts, since people open it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal

from utilipay.collection.schemas import Cell, Column, Report
from utilipay.common.spreadsheet import to_csv
from utilipay.money import in_yuan


def _json_cell(cell: Cell | Decimal) -> str | int | None:
    if isinstance(cell, Decimal):
        return str(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return cell


def report_json(report: Report) -> dict[str, object]:
    """The report as plain JSON values (Decimal → string, date → ISO)."""
    body = asdict(report)
    body["empty"] = report.empty
    for table in body["tables"]:
        table["rows"] = [[_json_cell(c) for c in row] for row in table["rows"]]
    for chart in body["charts"]:
        for series in chart["series"]:
            series["points"] = [_json_cell(p) for p in series["points"]]
    for period in ("requested", "period"):
        body[period] = {k: v.isoformat() for k, v in body[period].items()}
    body["scope"]["billers"] = (
        None if report.scope.billers is None else sorted(report.scope.billers)
    )
    return body


def _csv_cell(column: Column, cell: Cell) -> str | int | Decimal:
    if cell is None:
        return ""
    if column.kind == "fen" and isinstance(cell, int):
        return in_yuan(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return cell


def report_csv(report: Report) -> bytes:
    """Each table as CSV (its header row first), tables one after another, a blank line
    between; a note of the report is a line of its own before them."""
    parts = [to_csv([f"{report.title} {report.period.start}..{report.period.end}"],
                    [[note] for note in report.notes])]  # fmt: skip
    for table in report.tables:
        rows = [[_csv_cell(c, cell) for c, cell in zip(table.columns, row, strict=True)]
                for row in table.rows]  # fmt: skip
        parts.append(to_csv([c.title for c in table.columns], rows))
    return b"\n".join(parts)

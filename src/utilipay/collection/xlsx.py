"""Reports as one Excel workbook (XlsxWriter, write-only): a sheet per table, amounts as
yuan numbers with a number format (a spreadsheet sums them), rates as percentages, and a
native chart per ``Chart`` on its report's last sheet. The monthly analysis reuses it.

Text cells are written as strings (never formulas), so a name starting with ``=`` stays
text, as ``common/spreadsheet.py`` keeps it in CSV.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from utilipay.collection.schemas import Cell, Chart, Column, Report, ReportTable
from utilipay.money import in_yuan

_FORMATS = {
    "fen": {"num_format": "#,##0.00"},
    "percent": {"num_format": "0.00%"},
    "days": {"num_format": "0.00"},
    "count": {"num_format": "#,##0"},
    "date": {"num_format": "yyyy-mm-dd"},
}
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHART_TYPES = {"line": "line", "bar": "column", "stacked-bar": "column", "pie": "pie"}
_SHEET_NAME = 31  # Excel's limit


def value(column: Column, cell: Cell) -> Cell:
    """A cell as the spreadsheet keeps it: yuan for fen, a fraction for a percentage."""
    if cell is None:
        return None
    if column.kind == "fen" and isinstance(cell, int):
        return in_yuan(cell)
    if column.kind == "percent" and isinstance(cell, Decimal):
        return cell / 100
    return cell


def _sheet_name(report: Report, table: ReportTable, taken: set[str]) -> str:
    base = f"{report.name}-{table.key}"[:_SHEET_NAME]
    name, n = base, 2
    while name in taken:
        name = f"{base[: _SHEET_NAME - 3]}-{n}"
        n += 1
    taken.add(name)
    return name


def workbook(reports: Sequence[Report]) -> bytes:
    """One workbook of the reports' tables and charts."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                      "strings_to_numbers": False})  # fmt: skip
    formats = {kind: book.add_format(spec) for kind, spec in _FORMATS.items()}
    bold = book.add_format({"bold": True})
    taken: set[str] = set()
    for report in reports:
        sheet = None
        for table in report.tables:
            sheet = book.add_worksheet(_sheet_name(report, table, taken))
            sheet.write_string(0, 0, f"{report.title}, {report.period.start}..{report.period.end}")
            for i, note in enumerate(report.notes, start=1):
                sheet.write_string(i, 0, note)
            top = len(report.notes) + 2
            _write_table(sheet, table, top, bold, formats)
        if sheet is None:
            continue
        for n, chart in enumerate(report.charts):
            _add_chart(book, sheet, chart, n)
    book.close()
    return out.getvalue()


def _write_table(
    sheet: Worksheet, table: ReportTable, top: int, bold: Format, formats: dict[str, Format]
) -> None:
    for col, column in enumerate(table.columns):
        sheet.write_string(top, col, column.title, bold)
        sheet.set_column(col, col, max(12, len(column.title) + 2))
    for r, row in enumerate(table.rows, start=top + 1):
        for col, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            shown = value(column, cell)
            if isinstance(shown, str):
                sheet.write_string(r, col, shown)
            elif shown is not None:
                sheet.write(r, col, shown, formats.get(column.kind))


def _add_chart(book: Workbook, sheet: Worksheet, chart: Chart, n: int) -> None:
    """The chart's figures on a sheet of their own, and the native chart over them."""
    data = book.add_worksheet(f"chart-{len(book.worksheets())}"[:_SHEET_NAME])
    data.write_row(0, 0, ["", *chart.labels])
    scale = Decimal(100) if chart.unit in ("fen", "percent") else Decimal(1)
    for i, series in enumerate(chart.series, start=1):
        data.write_string(i, 0, series.label)
        for j, point in enumerate(series.points, start=1):
            if point is not None:
                data.write_number(i, j, Decimal(point) / scale)
    kind = _CHART_TYPES[chart.kind]
    made = book.add_chart({"type": kind, **({"subtype": "stacked"} if chart.kind ==
                                            "stacked-bar" else {})})  # fmt: skip
    last = len(chart.labels)
    for i in range(1, len(chart.series) + 1):
        made.add_series({
            "name": [data.name, i, 0],
            "categories": [data.name, 0, 1, 0, last],
            "values": [data.name, i, 1, i, last],
        })  # fmt: skip
    made.set_title({"name": chart.title})
    if chart.unit == "percent" and kind != "pie":
        made.set_y_axis({"num_format": "0%"})
    sheet.insert_chart(1, 10 + 9 * n, made)

"""A report's cell as people read it, by its column's kind: the one formatting of the
PDF and the console's tables (amounts in yuan with thousands separators, rates with a
percent sign, days as ISO dates). Machines (JSON, CSV, XLSX) get the values themselves."""

from __future__ import annotations

from datetime import date

from utilipay.collection.schemas import Cell, ColumnKind
from utilipay.money import format_yuan

NO_FIGURE = "—"


def shown(value: Cell, kind: ColumnKind) -> str:
    if value is None:
        return NO_FIGURE
    if kind == "fen":
        if not isinstance(value, int):
            raise TypeError(f"an amount in fen is a whole number, not {value!r}")
        return format_yuan(value)
    if kind == "percent":
        return f"{value}%"
    if kind in ("count", "days") and isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_number(kind: ColumnKind) -> bool:
    """Whether the column is figures, set right-aligned so their places line up."""
    return kind in ("count", "fen", "percent", "days")

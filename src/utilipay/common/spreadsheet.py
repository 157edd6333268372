"""CSV files for people, who open them in a spreadsheet: no cell of ours runs as a formula.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some strip a leading tab or carriage return first (OWASP, "CSV Injection"): a payee
account named ``=HYPERLINK(…)`` would become a link in the utility's finance office,
``+SUM(1,2)`` a figure nobody wrote. Free text that starts so gets a leading single
quote, which a spreadsheet reads as "this is text" and does not show; a CSV reader
sees the quote. Numbers are written as numbers, so ``-12.34`` stays a negative amount.

Which cells are text is told by type, not guessed from content: a ``str`` is free
text, an ``int`` or ``Decimal`` a number. An amount must reach here as a number.

Only files meant for people go through here. Files machines exchange with each other
(the DuckDB working files of reconciliation, the biller protocol's daily statement,
which is byte-exact with ``biller-protocol.md`` §6) keep their values exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | Decimal


def text_cell(value: str) -> str:
    """Free text as a spreadsheet shows it and never runs it."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """UTF-8 CSV, ``\\n`` line ends: the header, then the rows; text cells made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([text_cell(name) for name in header])
    for row in rows:
        writer.writerow([text_cell(cell) if isinstance(cell, str) else cell for cell in row])
    return out.getvalue().encode()

"""Any other statement that is a CSV with a header row, described by a small TOML file:

    party = "channel"               # channel | biller | bank
    encoding = "gbk"                # default utf-8
    delimiter = ","
    skip_lines = 2                  # lines above the header (titles); default 0
    skip_footer = 1                 # lines below the data (totals); default 0
    date_format = "%Y/%m/%d %H:%M"  # strptime; Beijing time unless it has %z
    amount_unit = "yuan"            # yuan (2 decimals at most) | fen (whole numbers)
    currency = "CNY"

    [columns]                       # our field = the file's header
    occurred_at = "交易时间"         # required
    amount = "金额"                  # required, unless the two below
    credit_amount = "收入金额"       # a bank's two columns instead: CREDIT or DEBIT lines
    debit_amount = "支出金额"
    status = "状态"                  # or [signs] below, for signed amounts
    order_id = "商户订单号"
    party_ref = "交易流水号"
    account_no = "户号"
    counterparty = "对方户名"
    channel_code = "渠道"

    [statuses]                      # the file's word = PAID|REFUNDED|REVERSED|CREDIT|DEBIT
    "成功" = "PAID"

    [signs]                         # without a status column: what a sign means
    positive = "CREDIT"
    negative = "DEBIT"

Such a file states nothing about itself, so nothing is checked beyond each line.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from typing import Any

from utilipay.clock import business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.recon.sources.common import (
    Kind,
    ParsedStatement,
    Party,
    Rejects,
    StatementLine,
    Status,
    check_size,
    decode,
    local_instant,
    reject,
    to_fen,
)

REQUIRED = ("occurred_at",)
SPLIT = ("credit_amount", "debit_amount")
OPTIONAL = ("amount", "status", "order_id", "party_ref", "account_no", "counterparty",
            "channel_code", *SPLIT)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CsvLayout:
    party: Party
    columns: dict[str, str]
    date_format: str = "%Y-%m-%d %H:%M:%S"
    amount_unit: str = "yuan"
    encoding: str = "utf-8"
    delimiter: str = ","
    skip_lines: int = 0
    skip_footer: int = 0
    currency: str = "CNY"
    statuses: dict[str, Status] = field(default_factory=dict)
    signs: dict[str, Status] = field(default_factory=dict)


def _bad(message: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, f"generic CSV layout: {message}")


def layout_from_toml(text: str) -> CsvLayout:
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(str(exc)) from None
    known = {"party", "columns", "date_format", "amount_unit", "encoding", "delimiter",
             "skip_lines", "skip_footer", "currency", "statuses", "signs"}  # fmt: skip
    if unknown := sorted(set(raw) - known):
        raise _bad(f"unknown key(s) {', '.join(unknown)}")
    try:
        columns = {str(k): str(v) for k, v in raw.pop("columns", {}).items()}
        statuses = {str(k): Status(v) for k, v in raw.pop("statuses", {}).items()}
        signs = {str(k): Status(v) for k, v in raw.pop("signs", {}).items()}
        layout = CsvLayout(Party(raw.pop("party", "channel")), columns, statuses=statuses,
                           signs=signs, **raw)  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise _bad(str(exc)) from None
    _validate(layout)
    return layout


def _validate(layout: CsvLayout) -> None:
    if missing := [c for c in REQUIRED if c not in layout.columns]:
        raise _bad(f"[columns] needs {', '.join(missing)}")
    if unknown := sorted(set(layout.columns) - {*REQUIRED, *OPTIONAL}):
        raise _bad(f"[columns] has unknown field(s) {', '.join(unknown)}")
    if layout.amount_unit not in {"yuan", "fen"}:
        raise _bad(f"amount_unit {layout.amount_unit!r} must be yuan or fen")
    if len(layout.delimiter) != 1 or layout.skip_lines < 0 or layout.skip_footer < 0:
        raise _bad("delimiter must be one character, skip_lines and skip_footer >= 0")
    split = [c for c in SPLIT if c in layout.columns]
    if split:
        if len(split) != len(SPLIT) or "amount" in layout.columns:
            raise _bad("[columns] needs amount, or credit_amount and debit_amount")
        return  # the column a figure is in says which way it went
    if "amount" not in layout.columns:
        raise _bad("[columns] needs amount, or credit_amount and debit_amount")
    if "status" in layout.columns and not layout.statuses:
        raise _bad("a status column needs [statuses] saying what each word means")
    if "status" not in layout.columns and set(layout.signs) != {"positive", "negative"}:
        raise _bad("without a status column, [signs] must give positive and negative")


def parse_generic_csv(data: bytes, layout: CsvLayout, source: str = "") -> ParsedStatement:
    check_size(data, source)
    text = decode(data, source, layout.encoding)
    physical = text.splitlines()
    body = physical[layout.skip_lines : len(physical) - layout.skip_footer]
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=layout.delimiter)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise reject(source, layout.skip_lines + 1, "no header row") from None
    if missing := [c for c in layout.columns.values() if c not in header]:
        raise reject(source, layout.skip_lines + 1, f"no column {', '.join(missing)}")
    index = {ours: header.index(theirs) for ours, theirs in layout.columns.items()}
    rejects = Rejects(source)
    lines: list[StatementLine] = []
    try:
        for cells in reader:
            found = _row(cells, header, index, layout, reader.line_num, rejects)
            if found is not None:
                lines.append(found)
    except csv.Error as exc:
        raise reject(source, layout.skip_lines + reader.line_num + 1, f"not CSV: {exc}") from None
    rejects.raise_if_any()
    parsed = ParsedStatement(Kind.GENERIC_CSV, layout.party, lines)
    parsed.notes.append("a generic CSV states no totals: only its lines were checked")
    return parsed


def _row(
    cells: list[str],
    header: list[str],
    index: dict[str, int],
    layout: CsvLayout,
    line_num: int,
    rejects: Rejects,
) -> StatementLine | None:
    number = layout.skip_lines + line_num
    if not any(cell.strip() for cell in cells):
        return None
    if len(cells) != len(header):
        rejects.add(number, f"{len(cells)} fields where the header has {len(header)}")
        return None
    row = {ours: cells[i].strip() for ours, i in index.items()}
    return _line(number, row, layout, rejects)


def _signed(row: dict[str, str], scale: int) -> int:
    """The amount, or a credit column less a debit column (one of them empty)."""
    if "amount" in row:
        return to_fen(row["amount"], scale)
    credit, debit = row["credit_amount"], row["debit_amount"]
    if bool(credit) == bool(debit):
        raise ValueError("exactly one of the credit and debit amounts must be given")
    return to_fen(credit, scale) if credit else -to_fen(debit, scale)


def _status(row: dict[str, str], signed: int, layout: CsvLayout) -> Status | None:
    if "credit_amount" in row:
        return Status.CREDIT if signed > 0 else Status.DEBIT
    if "status" in row:
        return layout.statuses.get(row["status"])
    return layout.signs["positive" if signed > 0 else "negative"]


def _line(
    number: int, row: dict[str, str], layout: CsvLayout, rejects: Rejects
) -> StatementLine | None:
    try:
        signed = _signed(row, 100 if layout.amount_unit == "yuan" else 1)
        at = local_instant(row["occurred_at"], layout.date_format)
    except ValueError as exc:
        rejects.add(number, str(exc))
        return None
    status = _status(row, signed, layout)
    if status is None:
        rejects.add(number, f"status {row['status']!r} is not in [statuses]")
        return None
    if signed == 0:
        rejects.add(number, "the amount is zero")
        return None
    day = business_date(at)
    return StatementLine(
        number, abs(signed), status, at, day, currency=layout.currency,
        order_id=row.get("order_id") or None, party_ref=row.get("party_ref") or None,
        account_no=row.get("account_no") or None, counterparty=row.get("counterparty") or None,
        channel_code=row.get("channel_code") or None,
    )  # fmt: skip

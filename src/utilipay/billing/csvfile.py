"""Parsing a bills CSV: ``biller,account,holder,bill_no,period,amount,late_fee,due_date``.

Amounts are integers in fen. Every bad line is reported with its number; the
caller imports nothing unless every line is good. ``read_bills`` keeps reading past a bad
line, so the database checks of the good lines can be reported with it in one attempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from utilipay.billing.schemas import Bill, BillRow
from utilipay.common.files import FileRejected, LineError, csv_records
from utilipay.common.validation import has_control_characters
from utilipay.money import parse_fen

COLUMNS = ("biller", "account", "holder", "bill_no", "period", "amount", "late_fee", "due_date")
_BILL_NO = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
MAX_BILL_AMOUNT = 100_000_000  # 1,000,000 yuan: more is a typo, not a utility bill


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(source, [LineError(line, "not UTF-8 text")]) from exc


def _row(line: int, fields: dict[str, str]) -> BillRow:
    for name, value in fields.items():
        if has_control_characters(value):
            raise ValueError(f"{name} holds a control character")
    biller, account, holder = fields["biller"], fields["account"], fields["holder"]
    if not biller:
        raise ValueError("biller is empty")
    if not account:
        raise ValueError("account is empty")
    if not holder:
        raise ValueError("holder is empty")
    if not _BILL_NO.fullmatch(fields["bill_no"]):
        raise ValueError(f"bill_no {fields['bill_no']!r} must be 1-64 of A-Z a-z 0-9 _ . -")
    if not _PERIOD.fullmatch(fields["period"]):
        raise ValueError(f"period {fields['period']!r} must be YYYY-MM")
    amount = parse_fen(fields["amount"])
    late_fee = parse_fen(fields["late_fee"] or "0")
    if not 0 < amount <= MAX_BILL_AMOUNT:
        raise ValueError(f"amount {amount} must be 1..{MAX_BILL_AMOUNT} fen")
    if not 0 <= late_fee <= MAX_BILL_AMOUNT:
        raise ValueError(f"late_fee {late_fee} must be 0..{MAX_BILL_AMOUNT} fen")
    try:
        due = date.fromisoformat(fields["due_date"])
    except ValueError:
        raise ValueError(f"due_date {fields['due_date']!r} must be YYYY-MM-DD") from None
    bill = Bill(fields["bill_no"], account, fields["period"], amount, late_fee, due)
    return BillRow(line=line, biller=biller, account_no=account, holder=holder, bill=bill)


@dataclass
class ReadBills:
    """The good lines of a bills file, and every bad one."""

    rows: list[BillRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def read_bills(data: bytes, source: str = "bills file", *, biller: str | None = None) -> ReadBills:
    """Read every line. Only a file that is not UTF-8 or whose header is wrong is refused at
    once (its lines cannot be read); every other bad line is in ``errors``. With ``biller``,
    a line of another biller is a bad line (a utility imports only its own bills)."""
    text = decode(data, source)
    read = ReadBills()
    seen: dict[tuple[str, str], int] = {}
    records = csv_records(text, read.errors)
    header = next(records, None)
    if header is None or tuple(h.strip() for h in header[1]) != COLUMNS:
        raise FileRejected(source, [LineError(1, f"header must be {','.join(COLUMNS)}")])
    for line, fields in records:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(COLUMNS):
            read.errors.append(LineError(line, f"{len(fields)} fields, expected {len(COLUMNS)}"))
            continue
        try:
            row = _row(line, dict(zip(COLUMNS, (f.strip() for f in fields), strict=True)))
        except ValueError as exc:
            read.errors.append(LineError(line, str(exc)))
            continue
        if biller is not None and row.biller != biller:
            read.errors.append(
                LineError(line, f"biller {row.biller}, but this import is for {biller}")
            )
            continue
        key = (row.biller, row.bill.bill_no)
        if key in seen:
            read.errors.append(LineError(line, f"bill {key[1]} repeats line {seen[key]}"))
            continue
        seen[key] = line
        read.rows.append(row)
    if not read.rows and not read.errors:
        read.errors.append(LineError(1, "no bills in the file"))
    return read


def parse_bills(data: bytes, source: str = "bills file") -> list[BillRow]:
    """The bills of a file whose every line is good; otherwise refused with every bad line."""
    read = read_bills(data, source)
    if read.errors:
        raise FileRejected(source, read.errors)
    return read.rows

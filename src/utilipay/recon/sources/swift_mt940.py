"""SWIFT MT940 (and MT942) bank statements, read with the maintained ``mt-940`` library.

The library reads each statement (a ``:20:`` block); what it does not check, this
module does first: every date in the balance and entry tags is a real date (the
library turns 30 February into the 29th without a word), and every ``:61:`` entry it
read is tied to the line it came from. Entries become CREDIT (C, RD: a reversed debit)
or DEBIT (D, RC) lines on their booking date (the entry date, else the value date),
referenced by the SEPA end-to-end reference, else the account owner's reference
(unless NONREF), else the bank's. Opening balance
(:60F:/:60M:) plus the entries is checked against the closing one (:62F:/:62M:) for
each statement; an MT942 carries no balances and says so in the notes. A line keeps the
bank's own reference (after ``//`` in :61:) and the remittance information of its :86:
(the SEPA purpose, else the whole field).
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import mt940

from utilipay.money import in_yuan
from utilipay.recon.sources.common import (
    Check,
    Kind,
    ParsedStatement,
    Party,
    Rejects,
    StatementLine,
    Status,
    check_size,
    local_midnight,
    one_day,
    pick_account,
    reject,
    to_fen,
)

CREDITS, DEBITS = {"C", "RD"}, {"D", "RC"}
_BALANCE = re.compile(r":(?:60[FM]|62[FM]|64|65):[CD](\d{6})")
_ENTRY = re.compile(r":61:(\d{6})(\d{4})?")
NO_REFERENCE = {"NONREF", ""}
_library_log = logging.getLogger("mt940")


@dataclass(frozen=True, slots=True)
class _Block:
    first_line: int  # of the :20: tag
    text: str
    entry_lines: list[int]


def looks_like_mt940(data: bytes) -> bool:
    head = data[:4096]
    return b":20:" in head and (b":25:" in head or b":60F:" in head)


def _real_date(yymmdd: str) -> date:
    return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))


def _check_dates(rows: list[str], rejects: Rejects) -> None:
    for number, row in enumerate(rows, start=1):
        found = _BALANCE.match(row) or _ENTRY.match(row)
        if found is None:
            continue
        tag = row.split(":")[1]
        try:
            value_date = _real_date(found.group(1))
        except ValueError:
            rejects.add(number, f":{tag}: date {found.group(1)} {_which(found.group(1))}")
            continue
        entry = found.group(2) if tag == "61" else None
        if entry is not None and not _entry_date_exists(value_date.year, entry):
            rejects.add(number, f":61: entry date {entry} (MMDD) is not a real date")


def _which(yymmdd: str) -> str:
    """Why YYMMDD is no date, in words: '30 February 2016 does not exist'."""
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= month <= 12:
        return f"has no month {month}"
    return f"is {day} {calendar.month_name[month]} 20{yymmdd[:2]}, which does not exist"


def _entry_date_exists(year: int, mmdd: str) -> bool:
    """The entry date has no year: it may fall in the value date's year or next to it."""
    for candidate in (year - 1, year, year + 1):
        try:
            date(candidate, int(mmdd[:2]), int(mmdd[2:]))
            return True
        except ValueError:
            continue
    return False


def _blocks(rows: list[str]) -> list[_Block]:
    starts = [n for n, row in enumerate(rows) if row.startswith(":20:")]
    blocks = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(rows)
        chunk = rows[start:end]
        entries = [start + 1 + i for i, row in enumerate(chunk) if row.startswith(":61:")]
        blocks.append(_Block(start + 1, "\n".join(chunk), entries))
    return blocks


def _read(block: _Block, rows: list[str], source: str) -> Any:
    statement = mt940.models.Transactions()
    # it logs every failed match at length; the refusal below says it once
    level = _library_log.level
    _library_log.setLevel(logging.CRITICAL)
    try:
        statement.parse(block.text)
    except (RuntimeError, ValueError, KeyError, ArithmeticError) as exc:
        raise reject(source, _failing_line(exc, block, rows), _why(exc)) from None
    finally:
        _library_log.setLevel(level)
    if len(statement.transactions) != len(block.entry_lines):
        raise reject(source, block.first_line, f"{len(block.entry_lines)} :61: lines, but "
                     f"{len(statement.transactions)} entries read")  # fmt: skip
    return statement


def _why(exc: Exception) -> str:
    """The library raises (message, tag, value): say which tag and what it held."""
    if len(exc.args) == 3 and hasattr(exc.args[1], "id") and isinstance(exc.args[2], str):
        tag, value = exc.args[1], exc.args[2]
        return f":{tag.id}: ({type(tag).__name__}) cannot be read from {value!r}"
    return f"MT940: {exc}"


def _failing_line(exc: Exception, block: _Block, rows: list[str]) -> int:
    """The library quotes the value it could not read: find the line it starts on."""
    quoted = next((a for a in reversed(exc.args) if isinstance(a, str)), "")
    first = quoted.split("\n", 1)[0].strip()
    for number in range(block.first_line, block.first_line + block.text.count("\n") + 1):
        if first and first in rows[number - 1]:
            return number
    return block.first_line


def parse_mt940(data: bytes, source: str = "", account: str | None = None) -> ParsedStatement:
    """The statements of ``account`` (:25:), which may be left out if the file has one."""
    check_size(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the SWIFT set is ASCII; banks add Latin-1 names
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rejects = Rejects(source)
    _check_dates(rows, rejects)
    rejects.raise_if_any()
    blocks = [(block, _read(block, rows, source)) for block in _blocks(rows)]
    if not blocks:
        raise reject(source, 1, "not MT940: no :20: statement")
    accounts = [str(s.data.get("account_identification") or "") for _, s in blocks]
    chosen = pick_account(accounts, account, source)
    parsed = ParsedStatement(Kind.MT940, Party.BANK, [], party_code=chosen)
    parsed.declared = {"statements": []}
    for (block, statement), of in zip(blocks, accounts, strict=True):
        if of != chosen:
            parsed.notes.append(f"statement on line {block.first_line}: account {of}, left out")
            continue
        pairs = zip(block.entry_lines, statement.transactions, strict=True)
        found = [x for n, t in pairs if (x := _line(n, t.data, parsed, rejects)) is not None]
        parsed.lines += found
        _balances(parsed, block, statement.data, found)
    rejects.raise_if_any()
    parsed.business_date = one_day(parsed.lines)
    return parsed


def _line(
    number: int, data: dict[str, Any], parsed: ParsedStatement, rejects: Rejects
) -> StatementLine | None:
    status = data.get("status")
    amount: Decimal = data["amount"].amount
    try:
        fen = to_fen(str(abs(amount)))
    except ValueError as exc:
        rejects.add(number, str(exc))
        return None
    if status not in CREDITS | DEBITS:
        rejects.add(number, f":61: debit/credit mark {status!r} is not C, D, RC or RD")
        return None
    if fen == 0:
        parsed.notes.append(f"line {number}: an entry of zero, not imported")
        return None
    booked: date = data.get("entry_date") or data["date"]
    booked = date(booked.year, booked.month, booked.day)  # the library's own Date subclass
    # ours first: the end-to-end reference (SEPA EREF+), then the account owner's
    # (where a payment file's reference comes back), then the bank's own
    references = [data.get(k) for k in ("end_to_end_reference", "customer_reference",
                                        "bank_reference")]  # fmt: skip
    reference = next((r.strip() for r in references if r and r.strip() not in NO_REFERENCE), None)
    return StatementLine(
        number, fen, Status.CREDIT if status in CREDITS else Status.DEBIT, local_midnight(booked),
        booked, currency=data.get("currency") or "", party_ref=reference,
        counterparty=data.get("applicant_name"), account_no=data.get("applicant_iban"),
        bank_ref=(data.get("bank_reference") or "").strip() or None,
        remittance=data.get("purpose") or data.get("transaction_details") or None,
    )  # fmt: skip


def _balances(
    parsed: ParsedStatement, block: _Block, data: dict[str, Any], lines: list[StatementLine]
) -> None:
    name = f"{data.get('transaction_reference')} {data.get('statement_number') or ''}".strip()
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    parsed.declared["statements"].append({
        "line": block.first_line, "reference": name,
        "opening": str(opening.amount.amount) if opening else None,
        "closing": str(closing.amount.amount) if closing else None,
    })  # fmt: skip
    if opening is None or closing is None:
        parsed.notes.append(f"statement on line {block.first_line}: no balances to check")
        return
    net = sum(x.amount if x.status is Status.CREDIT else -x.amount for x in lines)
    start, end = to_fen(str(opening.amount.amount)), to_fen(str(closing.amount.amount))
    parsed.checks.append(
        Check(
            f"statement on line {block.first_line} closing balance",
            in_yuan(end),
            in_yuan(start + net),
        )
    )

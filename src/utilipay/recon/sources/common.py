"""The normalized statement every parser returns, and the checks they share.

A parser reads the whole file before anything is written: a line it cannot read is
named by its number and the file is refused (``FileRejected``). Amounts are read as
text into ``Decimal`` and must come out as a whole number of fen; no float is ever
made. What the file says about itself (a summary row, a header count, balances) is
compared with its lines and the comparison kept in ``summary``: the import service
decides what a disagreement means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from utilipay.clock import SHANGHAI, business_date
from utilipay.common.files import FileRejected, LineError
from utilipay.money import MAX_FEN, format_yuan

# A day's statement of one channel or bank runs to a few hundred thousand lines at most;
# anything larger is not a statement this hub should hold in memory at once.
MAX_BYTES = 256 * 1024 * 1024
ISO_FORMAT = "%Y-%m-%d %H:%M:%S"
_ISO_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_YUAN = re.compile(r"-?[0-9]{1,16}\.[0-9]{2}")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,16}(?:\.[0-9]{1,6})?")


class Kind(StrEnum):
    WECHAT_TRADE = "wechat_trade"
    WECHAT_FUNDFLOW = "wechat_fundflow"
    ALIPAY_DETAIL = "alipay_detail"
    GENERIC_CSV = "generic_csv"
    BILLER_STATEMENT = "biller_statement"
    CAMT053 = "camt053"
    MT940 = "mt940"


class Party(StrEnum):
    CHANNEL = "channel"
    BILLER = "biller"
    BANK = "bank"


class Status(StrEnum):
    PAID = "PAID"
    REFUNDED = "REFUNDED"
    REVERSED = "REVERSED"
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


@dataclass(frozen=True, slots=True)
class StatementLine:
    line_no: int
    amount: int  # fen: hundredths of the currency's unit (for any currency), > 0
    status: Status
    occurred_at: datetime  # aware
    business_date: date
    currency: str = "CNY"
    order_id: str | None = None
    party_ref: str | None = None
    account_no: str | None = None
    channel_code: str | None = None
    counterparty: str | None = None
    bank_ref: str | None = None  # a bank statement's own reference of the entry
    remittance: str | None = None  # a bank statement's remittance information (附言)


# A figure a file states: a count, an amount (a number, never its text: 0.2 is 0.20000), or a
# word ("none").
Figure = int | Decimal | str


@dataclass(slots=True)
class Check:
    """One thing the file states about itself, against what its lines add up to."""

    what: str
    declared: Figure
    computed: Figure

    @property
    def ok(self) -> bool:
        return self.declared == self.computed

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "declared": _json(self.declared),
                "computed": _json(self.computed), "ok": self.ok}  # fmt: skip

    def __str__(self) -> str:
        return f"{self.what}: the file says {self.declared}, its lines make {self.computed}"


@dataclass(slots=True)
class ParsedStatement:
    kind: Kind
    party: Party
    lines: list[StatementLine]
    party_code: str | None = None  # when the file names it (biller code, bank account)
    business_date: date | None = None  # when the file names its day
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # quirks that are not a disagreement
    declared: dict[str, Any] = field(default_factory=dict)  # the file's own summary, as read

    @property
    def matched(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> dict[str, Any]:
        return {"declared": self.declared, "checks": [c.as_json() for c in self.checks],
                "matched": self.matched, "notes": self.notes}  # fmt: skip


def _json(figure: Figure) -> int | str:
    return str(figure) if isinstance(figure, Decimal) else figure


class Rejects:
    """Bad lines collected while reading, so the operator sees them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[LineError] = []

    def add(self, line: int, message: str) -> None:
        self.errors.append(LineError(line, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise FileRejected(self.source, sorted(self.errors, key=lambda e: e.line))


def reject(source: str, line: int, message: str) -> FileRejected:
    return FileRejected(source, [LineError(line, message)])


def check_size(data: bytes, source: str) -> None:
    if len(data) > MAX_BYTES:
        raise reject(source, 1, f"{len(data)} bytes: larger than the {MAX_BYTES} bytes allowed")
    if not data.strip():
        raise reject(source, 1, "the file is empty")


def decode(data: bytes, source: str, encoding: str = "utf-8") -> str:
    try:
        return data.decode("utf-8-sig" if encoding.lower() in {"utf-8", "utf8"} else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise reject(source, line, f"not {encoding} text") from None
    except LookupError:
        raise reject(source, 1, f"unknown encoding {encoding!r}") from None


def to_fen(text: str, scale: int = 100) -> int:
    """'12.30' → 1230 (scale 100, yuan) or '1230' → 1230 (scale 1, fen), exactly.

    Raises ValueError naming the problem: not a number, a fraction of a fen, too large."""
    cleaned = text.strip()
    if "," in cleaned and _GROUPED.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")  # 1,234.50; a decimal comma (1,23) is refused
    if scale == 100 and _YUAN.fullmatch(cleaned):
        return int(cleaned.replace(".", ""))  # "123.45": most amounts, without Decimal
    if not _DECIMAL.fullmatch(cleaned):
        raise ValueError(f"amount {text.strip()!r} is not a decimal number")
    try:
        value = Decimal(cleaned) * scale
    except InvalidOperation:
        raise ValueError(f"amount {text.strip()!r} is not a decimal number") from None
    if value != value.to_integral_value():
        raise ValueError(f"amount {text.strip()!r} is not a whole number of fen")
    if abs(value) > MAX_FEN:
        raise ValueError(f"amount {text.strip()!r} is out of range")
    return int(value)


def yuan(fen: int) -> str:
    """How the files write amounts: 1230 → '12.30' (no thousands separators)."""
    return format_yuan(fen).replace(",", "")


def local_instant(text: str, fmt: str) -> datetime:
    """A wall-clock time in Beijing as the Chinese files write it → an aware instant."""
    stripped = text.strip()
    if fmt == ISO_FORMAT and _ISO_SECONDS.fullmatch(stripped):
        parsed = datetime.fromisoformat(stripped)  # the common case, ten times strptime's speed
    else:
        parsed = datetime.strptime(stripped, fmt)
    return parsed.replace(tzinfo=SHANGHAI) if parsed.tzinfo is None else parsed


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def channel_line(
    line_no: int,
    amount: int,
    status: Status,
    at: datetime,
    *,
    order_id: str | None = None,
    party_ref: str | None = None,
    account_no: str | None = None,
    channel_code: str | None = None,
) -> StatementLine:
    """A channel or biller line: its business day is the Shanghai day of its instant."""
    return StatementLine(
        line_no, amount, status, at, business_date(at), order_id=order_id,
        party_ref=party_ref, account_no=account_no, channel_code=channel_code,
    )  # fmt: skip


def pick_account(accounts: list[str], wanted: str | None, source: str) -> str:
    """The one account a bank file's lines are imported for: a file may hold several."""
    if wanted is not None:
        if wanted not in accounts:
            raise reject(
                source, 1, f"no statement of account {wanted} (it has {', '.join(accounts)})"
            )
        return wanted
    if len(set(accounts)) != 1:
        shown = ", ".join(dict.fromkeys(accounts))
        raise reject(source, 1, f"statements of several accounts ({shown}): name one as the party")
    return accounts[0]


def one_day(lines: list[StatementLine]) -> date | None:
    days = {line.business_date for line in lines}
    return days.pop() if len(days) == 1 else None

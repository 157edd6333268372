"""What a bill made by a run was made of: its usage per tariff version and its lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billing import repository as billing_repo
from utilipay.billing.schemas import BillStatus
from utilipay.billruns.tables import bill_lines, bill_usage
from utilipay.errors import DomainError, ErrorCode


@dataclass(frozen=True, slots=True)
class Segment:
    segment: int
    tariff_code: str
    tariff_version: int
    first_day: date
    last_day: date
    band_start: date
    used_before: Decimal
    usage: Decimal
    registers: dict[str, Decimal] | None  # peak, flat, valley; None: a total only
    estimated: bool
    exact_fen: Decimal


@dataclass(frozen=True, slots=True)
class Line:
    line: int
    segment: int
    kind: str  # register, band or fixed
    register: str | None
    band: int | None
    from_units: Decimal | None
    to_units: Decimal | None
    units: Decimal | None
    price: Decimal | None  # yuan per unit
    exact_fen: Decimal


@dataclass(frozen=True, slots=True)
class BillDetail:
    biller: str
    bill_no: str
    account_no: str
    period: str
    amount: int  # fen
    due_date: date
    status: BillStatus
    segments: tuple[Segment, ...]
    lines: tuple[Line, ...]

    @property
    def estimated(self) -> bool:
        return any(s.estimated for s in self.segments)

    def as_json(self) -> dict[str, Any]:
        return {
            "biller": self.biller, "bill_no": self.bill_no, "account_no": self.account_no,
            "period": self.period, "amount": self.amount, "due_date": self.due_date.isoformat(),
            "status": self.status, "estimated": self.estimated,
            "segments": [
                {"segment": s.segment, "tariff": s.tariff_code, "tariff_version": s.tariff_version,
                 "from": s.first_day.isoformat(), "to": s.last_day.isoformat(),
                 "band_start": s.band_start.isoformat(), "used_before": str(s.used_before),
                 "usage": str(s.usage),
                 "registers": None if s.registers is None
                 else {k: str(v) for k, v in s.registers.items()},
                 "estimated": s.estimated, "exact_fen": str(s.exact_fen)}
                for s in self.segments
            ],
            "lines": [
                {"line": x.line, "segment": x.segment, "kind": x.kind, "register": x.register,
                 "band": x.band, "from": _text(x.from_units), "to": _text(x.to_units),
                 "units": _text(x.units), "price": _text(x.price), "exact_fen": str(x.exact_fen)}
                for x in self.lines
            ],
        }  # fmt: skip


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def bill_detail(conn: AsyncConnection, biller_code: str, bill_no: str) -> BillDetail:
    biller = await billers_repo.by_code(conn, biller_code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"biller {biller_code} not found")
    stored = await billing_repo.bill_by_no(conn, biller.id, bill_no)
    if stored is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{biller_code} has no bill {bill_no}")
    usage = await conn.execute(
        select(bill_usage)
        .where(bill_usage.c.biller_id == biller.id, bill_usage.c.bill_no == bill_no)
        .order_by(bill_usage.c.segment)
    )
    lines = await conn.execute(
        select(bill_lines)
        .where(bill_lines.c.biller_id == biller.id, bill_lines.c.bill_no == bill_no)
        .order_by(bill_lines.c.line)
    )
    segments = tuple(_segment(s) for s in usage)
    if not segments:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"bill {bill_no} was imported, not made from readings"
        )
    bill = stored.bill
    return BillDetail(
        biller.code, bill.bill_no, bill.account_no, bill.period, bill.amount, bill.due_date,
        stored.status, segments, tuple(_line(x) for x in lines),
    )  # fmt: skip


def _segment(s: Any) -> Segment:
    registers = None if s.peak is None else {"peak": s.peak, "flat": s.flat, "valley": s.valley}
    return Segment(
        s.segment, s.tariff_code, s.tariff_version, s.first_day, s.last_day, s.band_start,
        s.used_before, s.usage, registers, s.estimated, s.exact_fen,
    )  # fmt: skip


def _line(x: Any) -> Line:
    return Line(
        x.line, x.segment, x.kind, x.register, x.band, x.from_units, x.to_units, x.units,
        x.price, x.exact_fen,
    )  # fmt: skip

"""An outlet's daily statement (日对账单): its float's movements in one Asia/Shanghai
business day, like a bank statement — the opening balance, each deposit, payment, void and
commission with the balance after it, and the closing balance.

The float's book is its ledger account (``outlets.float_account``), so the statement is
read from the ledger's movements and always adds up: opening + movements = closing. What a
payment was (utility, account, operator, tender) comes from ``outlet_payments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import day_bounds, to_shanghai_iso
from utilipay.common import spreadsheet
from utilipay.money import in_yuan

# What a float movement is, by the ledger entry that made it (ledger/flows.py).
MOVEMENT_KINDS = {
    "FLOAT_DEPOSIT": "deposit",
    "PAYMENT": "payment",
    "PREPAID_TOPUP": "payment",
    "PAYMENT_VOID": "void",
    "SETTLEMENT": "commission",
}

_OPENING = text(
    """
    SELECT coalesce(-sum(amount), 0) AS balance FROM ledger_movements
     WHERE account_id = :account AND created_at < :start
    """
)
# A float is a liability: a credit (negative posting) raises it.
_MOVEMENTS = text(
    """
    SELECT m.created_at, m.kind, -m.amount AS amount, m.payment_id, m.memo,
           b.code AS biller, p.account_no, op.operator_code, op.tender, op.collected_at,
           p.receipt_no
      FROM ledger_movements m
      LEFT JOIN outlet_payments op ON op.biller_id = m.biller_id AND op.payment_id = m.payment_id
      LEFT JOIN payments_orders p ON p.biller_id = op.biller_id AND p.id = op.payment_id
      LEFT JOIN billers_directory b ON b.id = op.biller_id
     WHERE m.account_id = :account AND m.created_at >= :start AND m.created_at < :end
     ORDER BY m.created_at, m.biller_id, m.entry_id, m.line_no
    """
)


@dataclass(frozen=True, slots=True)
class Movement:
    at: datetime
    kind: str  # deposit | payment | void | commission | the entry's kind
    amount: int  # signed fen: what it did to the float
    balance: int  # the float after it
    reference: str  # the payment id, or the entry's memo (a deposit's bank reference)
    biller: str | None
    account_no: str | None
    operator: str | None
    tender: str | None
    collected_at: datetime | None
    receipt_no: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    outlet: str
    day: date
    opening: int
    movements: list[Movement]

    @property
    def closing(self) -> int:
        return self.movements[-1].balance if self.movements else self.opening

    def total(self, kind: str) -> int:
        return sum(m.amount for m in self.movements if m.kind == kind)

    def count(self, kind: str) -> int:
        return sum(1 for m in self.movements if m.kind == kind)

    def as_json(self) -> dict[str, object]:
        return {
            "outlet": self.outlet,
            "date": self.day.isoformat(),
            "opening": self.opening,
            "deposits": self.total("deposit"),
            "payments": {"count": self.count("payment"), "amount": -self.total("payment")},
            "voids": {"count": self.count("void"), "amount": self.total("void")},
            "commission": self.total("commission"),
            "closing": self.closing,
            "movements": [_movement_json(m) for m in self.movements],
        }


def _movement_json(m: Movement) -> dict[str, object]:
    return {
        "at": to_shanghai_iso(m.at),
        "kind": m.kind,
        "amount": m.amount,
        "balance": m.balance,
        "reference": m.reference,
        "biller": m.biller,
        "account": m.account_no,
        "operator": m.operator,
        "tender": m.tender,
        "collected_at": to_shanghai_iso(m.collected_at) if m.collected_at else None,
        "receipt_no": m.receipt_no,
    }


async def statement(
    conn: AsyncConnection, *, outlet_id: int, outlet_code: str, float_account: int, day: date
) -> Statement:
    """The outlet's float in ``day``: the opening balance and every movement in order."""
    start, end = day_bounds(day)
    params = {"account": float_account, "start": start, "end": end}
    balance = int(await conn.scalar(_OPENING, params) or 0)
    opening = balance
    movements = []
    for r in await conn.execute(_MOVEMENTS, params):
        balance += r.amount
        movements.append(
            Movement(
                r.created_at, MOVEMENT_KINDS.get(r.kind, r.kind.lower()), r.amount, balance,
                r.payment_id or r.memo, r.biller, r.account_no, r.operator_code, r.tender,
                r.collected_at, r.receipt_no,
            )
        )  # fmt: skip
    return Statement(outlet_code, day, opening, movements)


CSV_COLUMNS = ("time", "kind", "amount", "balance", "reference", "biller", "account",
               "operator", "tender", "collected_at", "receipt_no")  # fmt: skip


def to_csv(found: Statement) -> bytes:
    """The statement as a spreadsheet: the opening line, a line per movement, the closing
    line (amounts in yuan)."""
    blank: list[spreadsheet.Cell] = [""] * 7
    opening: list[spreadsheet.Cell] = [found.day.isoformat(), "opening", "", in_yuan(found.opening)]
    closing: list[spreadsheet.Cell] = [found.day.isoformat(), "closing", "", in_yuan(found.closing)]
    rows = [opening + blank]
    for m in found.movements:
        rows.append(
            [to_shanghai_iso(m.at), m.kind, in_yuan(m.amount), in_yuan(m.balance), m.reference,
             m.biller or "", m.account_no or "", m.operator or "", m.tender or "",
             to_shanghai_iso(m.collected_at) if m.collected_at else "", m.receipt_no or ""]
        )  # fmt: skip
    rows.append(closing + blank)
    return spreadsheet.to_csv(CSV_COLUMNS, rows)

"""Payouts confirmed by the bank: a settlement's transfer found in an imported statement.

A payout is CONFIRMED by a bank statement line (contract 1, ``statement_lines``) that
is a DEBIT of the hub's settlement account (the import's ``party_code``) carrying the
payout's end-to-end id as its reference, with the payout's amount (and, when the
bank names it, the payee's account). A line with the reference and anything else
different makes it MISMATCH, with what differs; a correct line arriving later still
confirms it. A payout with no line N days after its business day is overdue:
reported, for a person to chase.

The hub's settlement account is ``UTILIPAY_SETTLEMENT_ACCOUNT``; unset, a debit line
of any imported bank account is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock, business_date
from utilipay.outbox.service import Event, emit

DEFAULT_OVERDUE_DAYS = 3


class PayoutSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UTILIPAY_", extra="ignore")

    settlement_account: str | None = None  # the hub's account payouts are paid from


# Each open payout with the bank lines that carry its reference, best first: the
# exact match, then the latest imported.
_CANDIDATES = text(
    """
    SELECT p.biller_id, p.business_date, p.reference, p.amount, p.account_no, p.status, p.note,
           l.import_id, l.line_no, l.amount AS line_amount, l.account_no AS line_account,
           l.currency
      FROM payouts p
      JOIN recon_bank_debits l ON l.party_ref = p.reference
     WHERE p.status <> 'CONFIRMED'
       AND (CAST(:hub AS text) IS NULL OR l.bank_account = CAST(:hub AS text))
     ORDER BY p.biller_id, p.business_date,
              (l.amount = p.amount AND coalesce(l.account_no, p.account_no) = p.account_no) DESC,
              l.import_id DESC, l.line_no
    """
)
_MARK = text(
    """
    UPDATE payouts SET status = :status, matched_at = :now, import_id = :import_id,
           line_no = :line_no, note = :note
     WHERE biller_id = :biller_id AND business_date = :business_date
    """
)
_OVERDUE = text(
    """
    SELECT b.code, p.business_date, p.reference, p.amount, p.status, p.note
      FROM payouts p JOIN billers_directory b ON b.id = p.biller_id
     WHERE p.status <> 'CONFIRMED' AND p.business_date <= :last
     ORDER BY p.business_date, b.code
    """
)


@dataclass(frozen=True, slots=True)
class Matched:
    reference: str
    status: str  # CONFIRMED or MISMATCH
    note: str | None


def _verdict(row: Any) -> tuple[str, str | None]:
    problems = []
    if row.line_amount != row.amount:
        problems.append(f"the bank debited {row.line_amount} fen, the payout is {row.amount}")
    if row.line_account is not None and row.line_account != row.account_no:
        problems.append(f"paid to account {row.line_account}, not {row.account_no}")
    if row.currency is not None and row.currency != "CNY":
        problems.append(f"paid in {row.currency}")
    if problems:
        return "MISMATCH", "; ".join(problems)
    return "CONFIRMED", None


async def match(conn: AsyncConnection, clock: Clock, hub_account: str | None) -> list[Matched]:
    """Confirm (or contradict) every open payout from the bank lines imported so far."""
    rows = (await conn.execute(_CANDIDATES, {"hub": hub_account})).all()
    done: list[Matched] = []
    seen: set[str] = set()
    for row in rows:
        if row.reference in seen:  # the best line of each payout came first
            continue
        seen.add(row.reference)
        status, note = _verdict(row)
        if (status, note) == (row.status, row.note):
            continue  # already said
        await conn.execute(
            _MARK,
            {"status": status, "now": clock.now(), "import_id": row.import_id,
             "line_no": row.line_no, "note": note, "biller_id": row.biller_id,
             "business_date": row.business_date},
        )  # fmt: skip
        payload = {"reference": row.reference, "status": status, "note": note}
        event = f"payout.{status.lower()}"
        await emit(conn, [Event(row.biller_id, event, row.reference, payload, clock.now())])
        done.append(Matched(row.reference, status, note))
    return done


async def overdue(
    conn: AsyncConnection, clock: Clock, days: int = DEFAULT_OVERDUE_DAYS
) -> list[dict[str, Any]]:
    """Payouts not confirmed ``days`` days after their business day."""
    last: date = business_date(clock.now()) - timedelta(days=days)
    rows = await conn.execute(_OVERDUE, {"last": last})
    return [
        {"payee": r.code, "date": r.business_date.isoformat(), "reference": r.reference,
         "amount": r.amount, "status": r.status, "note": r.note}
        for r in rows
    ]  # fmt: skip

"""The figures the early-warning rules read, over the areas' published views.

Read from the bills, not from ``collection``'s daily figures: those keep what was paid by
the day it was paid, whatever month its bill is of, so they cannot give the rate below
(of the month's bills); today's arrears would be computed live from the bills there too.

The collection rate of a month on day *d*: of the bills issued in the month up to the end
of day *d* (Shanghai), the share in amount paid by the end of day *d*. Arrears: unpaid
bills past their due date (principal, the late fee aside). A prepaid cut is a
``prepaid.cut`` event (one per cut, ``prepaid/cuts.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import day_bounds

_BILLED_COLLECTED = """
    SELECT {key}coalesce(sum(bb.amount), 0) AS billed,
           coalesce(sum(bb.amount) FILTER (WHERE bb.paid_at < :end), 0) AS collected
      FROM billing_bills bb JOIN billers_directory b ON b.id = bb.biller_id
     WHERE bb.biller_id = ANY (:billers) AND bb.issued_at >= :start AND bb.issued_at < :end
"""
_RATE = text(_BILLED_COLLECTED.format(key=""))
_REGION_RATES = text(
    _BILLED_COLLECTED.format(key="coalesce(b.region, b.code) AS region, ") + " GROUP BY 1"
)
_OVERDUE = """
    SELECT b.code, bb.account_no, sum(bb.amount) AS amount, min(bb.due_date) AS oldest_due
      FROM billing_bills bb JOIN billers_directory b ON b.id = bb.biller_id
     WHERE bb.biller_id = ANY (:billers) AND bb.status = 'UNPAID' AND bb.due_date < :today
     GROUP BY b.code, bb.account_no
"""
_ACCOUNTS_IN_ARREARS = text(
    _OVERDUE + " HAVING sum(bb.amount) >= :amount OR min(bb.due_date) <= :due_by"
    " ORDER BY 1, 2 LIMIT :limit"
)
_ARREARS_TOTAL = text(
    f"SELECT count(*) AS accounts, coalesce(sum(amount), 0) AS amount FROM ({_OVERDUE}) o"  # noqa: S608 - a constant
)
# An account's latest finished debits, newest first: failing when the last ``times`` all failed.
_AUTOPAY_FAILING = text(
    """
    SELECT b.code, d.account_no
      FROM (SELECT biller_id, account_no, status,
                   row_number() OVER (PARTITION BY biller_id, account_no ORDER BY id DESC) AS n
              FROM autopay_debits
             WHERE biller_id = ANY (:billers) AND status IN ('SUCCEEDED', 'FAILED')) d
      JOIN billers_directory b ON b.id = d.biller_id
     WHERE d.n <= :times
     GROUP BY b.code, d.account_no
    HAVING count(*) FILTER (WHERE d.status = 'FAILED') = :times
     ORDER BY 1, 2 LIMIT :limit
    """
)
_PREPAID_CUTS = text(
    """
    SELECT b.code, e.aggregate_id AS account_no, count(*) AS cuts
      FROM outbox_emit e JOIN billers_directory b ON b.id = e.biller_id
     WHERE e.biller_id = ANY (:billers) AND e.event_type = 'prepaid.cut'
       AND e.occurred_at >= :since
     GROUP BY b.code, e.aggregate_id
    HAVING count(*) > :more_than
     ORDER BY 1, 2 LIMIT :limit
    """
)
_PREPAID_IN_ARREARS = text(
    "SELECT count(*) FROM prepaid_balances"
    " WHERE biller_id = ANY (:billers) AND state IN ('ARREARS', 'CUT')"
)

# A rule about accounts names at most this many at once: past it, the figures are a report.
MOST_ACCOUNTS = 1000


@dataclass(frozen=True, slots=True)
class Collected:
    billed: int  # fen
    collected: int

    @property
    def rate_bp(self) -> int | None:
        """The collection rate in basis points (9,950 is 99.50 %); none when nothing billed."""
        return None if self.billed <= 0 else self.collected * 10_000 // self.billed


@dataclass(frozen=True, slots=True)
class Arrears:
    biller: str  # the code of the account's utility (a branch's, in a group)
    account_no: str
    amount: int
    oldest_due: date


def _month_to(day: date) -> dict[str, object]:
    start, _ = day_bounds(day.replace(day=1))
    _, end = day_bounds(day)
    return {"start": start, "end": end}


async def rate_on(conn: AsyncConnection, biller_ids: Collection[int], day: date) -> Collected:
    """Billed and collected of ``day``'s month, up to the end of ``day``."""
    row = (await conn.execute(_RATE, {"billers": list(biller_ids), **_month_to(day)})).one()
    return Collected(int(row.billed), int(row.collected))


async def region_rates_on(
    conn: AsyncConnection, biller_ids: Collection[int], day: date
) -> dict[str, Collected]:
    """``rate_on`` per region of the utilities (a utility without one: its code)."""
    rows = await conn.execute(_REGION_RATES, {"billers": list(biller_ids), **_month_to(day)})
    return {r.region: Collected(int(r.billed), int(r.collected)) for r in rows}


async def accounts_in_arrears(
    conn: AsyncConnection, biller_ids: Collection[int], today: date, amount: int, due_by: date
) -> list[Arrears]:
    """Accounts owing at least ``amount`` overdue, or owing a bill due on ``due_by`` or before."""
    rows = await conn.execute(
        _ACCOUNTS_IN_ARREARS,
        {"billers": list(biller_ids), "today": today, "amount": amount, "due_by": due_by,
         "limit": MOST_ACCOUNTS},
    )  # fmt: skip
    return [Arrears(r.code, r.account_no, int(r.amount), r.oldest_due) for r in rows]


async def arrears_total(
    conn: AsyncConnection, biller_ids: Collection[int], today: date
) -> tuple[int, int]:
    """How many accounts owe overdue bills, and how much (fen)."""
    row = (await conn.execute(_ARREARS_TOTAL, {"billers": list(biller_ids), "today": today})).one()
    return int(row.accounts), int(row.amount)


async def autopay_failing(
    conn: AsyncConnection, biller_ids: Collection[int], times: int
) -> list[tuple[str, str]]:
    """Accounts (utility code, account) whose last ``times`` auto-pay debits all failed."""
    rows = await conn.execute(
        _AUTOPAY_FAILING, {"billers": list(biller_ids), "times": times, "limit": MOST_ACCOUNTS}
    )
    return [(r.code, r.account_no) for r in rows]


async def prepaid_cut_often(
    conn: AsyncConnection, biller_ids: Collection[int], since: datetime, more_than: int
) -> list[tuple[str, str, int]]:
    """Prepaid accounts (utility code, account, cuts) cut more than ``more_than`` times since."""
    rows = await conn.execute(
        _PREPAID_CUTS,
        {"billers": list(biller_ids), "since": since, "more_than": more_than,
         "limit": MOST_ACCOUNTS},
    )  # fmt: skip
    return [(r.code, r.account_no, int(r.cuts)) for r in rows]


async def prepaid_in_arrears(conn: AsyncConnection, biller_ids: Collection[int]) -> int:
    """Prepaid accounts in arrears or cut."""
    found = await conn.execute(_PREPAID_IN_ARREARS, {"billers": list(biller_ids)})
    return int(found.scalar_one())

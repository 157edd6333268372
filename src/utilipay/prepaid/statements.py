"""The monthly statement of a prepaid account (月度账单): still one a month, as State Grid
sends, though the money moved every day.

Issued, set-based, for a month once an account's days through its last day are
settled (an account whose readings are late gets its statement late, never a
wrong one). Every figure is derived from the facts, not from the running balance:
top-ups are the account's successful top-up payments by their Shanghai date,
charges its accruals of the month's days, the opening balance everything before
the month; so the closing balance is the opening plus top-ups minus charges, and
a statement issued again (it is not: one per account and month) would agree. Each
statement goes to the outbox as ``prepaid.statement`` for the payer's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller
from utilipay.errors import DomainError, ErrorCode
from utilipay.prepaid.params import typed
from utilipay.prepaid.queries import Day
from utilipay.prepaid.tables import prepaid_accruals, prepaid_statements

_ISSUE = typed(
    """
    WITH bounds AS (
        SELECT :month AS first_day,
               (:month + interval '1 month')::date AS next_month
    ), due AS (
        SELECT pa.biller_id, pa.account_no, pa.accrue_from
          FROM prepaid_accounts pa, bounds
         WHERE pa.accrued_through >= bounds.next_month - 1
           AND pa.accrue_from < bounds.next_month
           AND NOT EXISTS (SELECT 1 FROM prepaid_statements s
                            WHERE s.biller_id = pa.biller_id AND s.account_no = pa.account_no
                              AND s.month = bounds.first_day)
    ), top_ups AS (
        SELECT p.biller_id, p.account_no,
               coalesce(sum(p.amount) FILTER (WHERE local.day < bounds.first_day), 0) AS before,
               coalesce(sum(p.amount) FILTER (WHERE local.day >= bounds.first_day), 0) AS during
          FROM payments_orders p
          JOIN due ON due.biller_id = p.biller_id AND due.account_no = p.account_no
         CROSS JOIN bounds
         CROSS JOIN LATERAL (SELECT (p.finished_at AT TIME ZONE 'Asia/Shanghai')::date AS day)
               local
         WHERE p.purpose = 'prepaid_topup' AND p.status = 'SUCCEEDED'
           AND local.day < bounds.next_month
         GROUP BY p.biller_id, p.account_no
    ), charges AS (
        SELECT a.biller_id, a.account_no,
               coalesce(sum(a.posted) FILTER (WHERE a.day < bounds.first_day), 0) AS before,
               coalesce(sum(a.posted) FILTER (WHERE a.day >= bounds.first_day), 0) AS during,
               coalesce(sum(a.usage) FILTER (WHERE a.day >= bounds.first_day), 0) AS usage,
               count(*) FILTER (WHERE a.day >= bounds.first_day) AS days
          FROM prepaid_accruals a
          JOIN due ON due.biller_id = a.biller_id AND due.account_no = a.account_no
         CROSS JOIN bounds
         WHERE a.day < bounds.next_month
         GROUP BY a.biller_id, a.account_no
    ), issued AS (
        INSERT INTO prepaid_statements (biller_id, account_no, month, opening_balance, top_ups,
                                        charges, closing_balance, usage, days, points,
                                        issued_at)
        SELECT due.biller_id, due.account_no, bounds.first_day,
               coalesce(t.before, 0) - coalesce(c.before, 0),
               coalesce(t.during, 0), coalesce(c.during, 0),
               coalesce(t.before, 0) + coalesce(t.during, 0)
                   - coalesce(c.before, 0) - coalesce(c.during, 0),
               coalesce(c.usage, 0), coalesce(c.days, 0), coalesce(r.points, 0), :now
          FROM due CROSS JOIN bounds
          LEFT JOIN top_ups t ON t.biller_id = due.biller_id AND t.account_no = due.account_no
          LEFT JOIN charges c ON c.biller_id = due.biller_id AND c.account_no = due.account_no
          LEFT JOIN prepaid_rewards r ON r.biller_id = due.biller_id
               AND r.account_no = due.account_no AND r.month = bounds.first_day
        ON CONFLICT DO NOTHING
        RETURNING *
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT i.biller_id, 'prepaid.statement', i.account_no,
           prepaid_event(pa, jsonb_build_object(
               'month', to_char(i.month, 'YYYY-MM'), 'opening_balance', i.opening_balance,
               'top_ups', i.top_ups, 'charges', i.charges, 'closing_balance', i.closing_balance,
               'usage', i.usage, 'days', i.days, 'points', i.points)), :now
      FROM issued i
      JOIN prepaid_accounts pa ON pa.biller_id = i.biller_id AND pa.account_no = i.account_no
    """
)


async def issue_statements(conn: AsyncConnection, month: date, now: datetime) -> int:
    """Statements of ``month`` for every account settled through its end; how many."""
    return (await conn.execute(_ISSUE, {"month": month.replace(day=1), "now": now})).rowcount


def last_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True, slots=True)
class TopUp:
    payment_id: str
    day: date  # Shanghai
    amount: int  # fen


@dataclass(frozen=True, slots=True)
class Statement:
    """An issued statement: its stored totals, with the lines they were made of."""

    account_no: str
    month: date  # its first day
    opening: int  # fen, as the rest
    top_ups_total: int
    charges: int
    closing: int
    usage: Decimal
    points: int
    issued_at: datetime
    top_ups: list[TopUp]  # by time
    days: list[Day]  # the month's settled days, by day


# The top-ups a statement counted in its month: the same payments and the same Shanghai
# day as _ISSUE's top_ups, listed instead of summed.
_TOP_UPS = typed(
    """
    SELECT p.id, (p.finished_at AT TIME ZONE 'Asia/Shanghai')::date AS day, p.amount
      FROM payments_orders p
     WHERE p.biller_id = :biller_id AND p.account_no = :account_no
       AND p.purpose = 'prepaid_topup' AND p.status = 'SUCCEEDED'
       AND (p.finished_at AT TIME ZONE 'Asia/Shanghai')::date >= :month
       AND (p.finished_at AT TIME ZONE 'Asia/Shanghai')::date < (:month + interval '1 month')
     ORDER BY p.finished_at, p.id
    """
)


async def issued_statement(
    conn: AsyncConnection, biller: Biller, account_no: str, month: date
) -> Statement:
    """The statement of ``month`` as issued; 404 with why when there is none (yet)."""
    first_day = month.replace(day=1)
    key = {"biller_id": biller.id, "account_no": account_no}
    issued = (
        await conn.execute(select(prepaid_statements).filter_by(**key, month=first_day))
    ).first()
    if issued is None:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"no statement of {first_day:%Y-%m} for {biller.code} account {account_no}: a "
            "month's statement is issued once the account's days through its last day are "
            "settled (GET /v1/prepaid shows the balance and the days settled so far)",
        )
    top_ups = await conn.execute(_TOP_UPS, key | {"month": first_day})
    days = await conn.execute(
        select(prepaid_accruals)
        .filter_by(**key)
        .where(prepaid_accruals.c.day >= first_day, prepaid_accruals.c.day < _next(first_day))
        .order_by(prepaid_accruals.c.day)
    )
    return Statement(
        account_no, first_day, issued.opening_balance, issued.top_ups, issued.charges,
        issued.closing_balance, issued.usage, issued.points, issued.issued_at,
        [TopUp(t.id, t.day, t.amount) for t in top_ups],
        [Day(d.day, d.usage, d.posted, d.balance_after) for d in days],
    )  # fmt: skip


def _next(first_day: date) -> date:
    return (first_day + timedelta(days=31)).replace(day=1)

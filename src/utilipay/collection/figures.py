"""What one business day adds to collection's figures, computed from that day's rows of
the owners' views, read by the ranges of its timestamps (the indexes of migration 0038).

Every figure belongs to the day its event happened on, so a day's rows never change once
the day is over: a payment counts on the day it finished and, if voided, counts again
negatively on the day of its void; a bill is billed on the day it was issued; the
arrears are those unpaid at the end of the day. ``days.close`` stores a day's rows once;
a report computes the days not stored yet (today) with the same statements.

Metrics (``collection_days.metric``) and what their columns hold:

- ``billed``: bills issued (``n`` and ``bills``), their amount.
- ``paid`` / ``topup``: payments of bills (and vouchers) / prepaid top-ups, by channel,
  outlet and channel-mix class (``key``): ``n`` payments, ``bills`` bills, ``amount``.
- ``aging``: bills overdue and unpaid at the day's end, by age bucket (``key``; ``all``
  for the total): ``n`` accounts, ``bills``, ``amount``.
- ``cut``: disconnections decided, ``bills`` of them with a known outage warning,
  ``seconds`` from that warning to the cut, summed.
- ``reconnect``: reconnections executed, ``seconds`` from decision to execution, summed.
- ``mandate-signed`` / ``mandate-cancelled`` by channel: ``n`` mandates.
- ``debit`` by channel and outcome (``key``: taken, declined, over-cap, skipped…):
  ``n`` debits, ``amount``.
- ``prepaid-state`` by state (``key``): ``n`` accounts at the close (a snapshot of a
  moment: a day gone by cannot be computed again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import business_date, day_bounds

_COLUMNS = "biller_id, business_date, metric, channel_id, outlet_id, key, n, bills, amount, seconds"

# The channel-mix class of a payment, first match wins: how it was paid (a voucher, an
# auto-pay debit), what for (a prepaid top-up), then where (an outlet: the utility's own
# counter or an agent's shop) and by which kind of channel (the CASE of "payments").
PARTS: dict[str, str] = {
    "billed": """
        SELECT biller_id, ((issued_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'billed', 0, 0, '', count(*),
               count(*), sum(amount), 0
          FROM billing_bills
         WHERE biller_id = ANY (:billers) AND issued_at >= :since AND issued_at < :until
         GROUP BY 1, 2""",
    "payments": """
        SELECT m.biller_id, ((m.at) AT TIME ZONE 'Asia/Shanghai')::date,
               CASE WHEN m.purpose = 'prepaid_topup' THEN 'topup' ELSE 'paid' END,
               m.channel_id, coalesce(o.id, 0), CASE WHEN m.purpose = 'voucher' THEN 'voucher'
         WHEN d.id IS NOT NULL THEN 'autopay'
         WHEN m.purpose = 'prepaid_topup' THEN 'prepaid'
         WHEN o.kind = 'counter' THEN 'counter'
         WHEN o.id IS NOT NULL OR c.kind = 'agent' THEN 'agent'
         WHEN c.kind = 'pos' THEN 'pos'
         WHEN c.kind = 'bank' THEN 'bank'
         ELSE 'wallet' END, sum(m.sign),
               sum(m.sign * cardinality(m.bill_nos)), sum(m.sign * m.amount), 0
          FROM (SELECT biller_id, order_id, channel_id, purpose, bill_nos, amount, id,
                       finished_at AS at, 1 AS sign
                  FROM payments_orders
                 WHERE biller_id = ANY (:billers) AND status <> 'PROCESSING'
                   AND finished_at >= :since AND finished_at < :until
                   AND status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED')
                UNION ALL
                SELECT biller_id, order_id, channel_id, purpose, bill_nos, amount, id,
                       reversed_at, -1
                  FROM payments_orders
                 WHERE biller_id = ANY (:billers) AND reversed_at >= :since
                   AND reversed_at < :until AND status = 'VOIDED') m
          JOIN channels_kinds c ON c.id = m.channel_id
          LEFT JOIN outlets_payment_accounts op
                 ON op.biller_id = m.biller_id AND op.payment_id = m.id
          LEFT JOIN outlets_directory o ON o.id = op.outlet_id
          LEFT JOIN autopay_debits d ON d.biller_id = m.biller_id AND d.id = m.order_id
         GROUP BY 1, 2, 3, 4, 5, 6""",
    # the bills unpaid at each day's end: unpaid now, or paid since the first day began;
    # only those due before the last day (no other is overdue on any of the days), so the
    # unpaid bills not due yet (a month's bills, most of those unpaid) are never read
    "aging": """
        WITH ends AS (
            SELECT g::date AS day,
                   (g::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS day_end
              FROM generate_series(CAST(:first AS date), CAST(:last AS date),
                                   interval '1 day') g
        ), open AS (
            SELECT biller_id, account_no, amount, due_date, issued_at,
                   NULL::timestamptz AS paid_at
              FROM billing_bills
             WHERE biller_id = ANY (:billers) AND status = 'UNPAID'
               AND due_date < CAST(:last AS date)
            UNION ALL
            SELECT biller_id, account_no, amount, due_date, issued_at, paid_at
              FROM billing_bills
             WHERE biller_id = ANY (:billers) AND paid_at IS NOT NULL AND paid_at >= :since
               AND due_date < CAST(:last AS date)
        ), aged AS (
            SELECT b.biller_id, e.day, b.account_no, b.amount,
                   CASE WHEN e.day - b.due_date <= 30 THEN '0-30'
                        WHEN e.day - b.due_date <= 60 THEN '31-60'
                        WHEN e.day - b.due_date <= 90 THEN '61-90'
                        WHEN e.day - b.due_date <= 180 THEN '91-180'
                        ELSE '180+' END AS bucket
              FROM open b JOIN ends e
                ON b.due_date < e.day AND b.issued_at < e.day_end
               AND (b.paid_at IS NULL OR b.paid_at >= e.day_end)
        )
        SELECT biller_id, day, 'aging', 0, 0, coalesce(bucket, 'all'),
               count(DISTINCT account_no), count(*), sum(amount), 0
          FROM aged GROUP BY GROUPING SETS ((biller_id, day, bucket), (biller_id, day))""",
    "cut": """
        SELECT c.biller_id, ((c.decided_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'cut', 0, 0, '', count(*),
               count(s.outage_warned_at), 0,
               coalesce(sum(extract(epoch FROM c.decided_at - s.outage_warned_at)), 0)::bigint
          FROM headend_command_times c
          LEFT JOIN prepaid_states s
                 ON s.biller_id = c.biller_id AND s.account_no = c.account_no
                AND s.outage_warned_at <= c.decided_at
         WHERE c.biller_id = ANY (:billers) AND c.action = 'disconnect'
           AND c.decided_at >= :since AND c.decided_at < :until
         GROUP BY 1, 2""",
    "reconnect": """
        SELECT biller_id, ((executed_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'reconnect', 0, 0, '', count(*), 0,
               0, sum(extract(epoch FROM executed_at - decided_at))::bigint
          FROM headend_command_times
         WHERE biller_id = ANY (:billers) AND action = 'reconnect' AND executed_at IS NOT NULL
           AND executed_at >= :since AND executed_at < :until
         GROUP BY 1, 2""",
    "mandates": """
        SELECT biller_id, ((signed_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'mandate-signed', channel_id, 0, '',
               count(*), 0, 0, 0
          FROM autopay_mandate_dates
         WHERE biller_id = ANY (:billers) AND signed_at >= :since AND signed_at < :until
         GROUP BY 1, 2, 4
        UNION ALL
        SELECT biller_id, ((cancelled_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'mandate-cancelled', channel_id, 0,
               '', count(*), 0, 0, 0
          FROM autopay_mandate_dates
         WHERE biller_id = ANY (:billers) AND cancelled_at IS NOT NULL
           AND cancelled_at >= :since AND cancelled_at < :until
         GROUP BY 1, 2, 4""",
    "debits": """
        SELECT biller_id, ((finished_at) AT TIME ZONE 'Asia/Shanghai')::date,
               'debit', channel_id, 0,
               CASE status WHEN 'SUCCEEDED' THEN 'taken' WHEN 'FAILED' THEN 'declined'
                           WHEN 'SKIPPED' THEN CASE WHEN reason = 'OVER_CAP' THEN 'over-cap'
                                                    ELSE 'skipped' END
                           ELSE lower(status) END,
               count(*), 0, sum(amount), 0
          FROM autopay_debit_outcomes
         WHERE biller_id = ANY (:billers) AND finished_at >= :since AND finished_at < :until
         GROUP BY 1, 2, 4, 6""",
}
# a snapshot of the moment it is taken, dated :last (the close's or today's)
SNAPSHOT = """
    SELECT biller_id, CAST(:last AS date), 'prepaid-state', 0, 0, state, count(*), 0, 0, 0
      FROM prepaid_states WHERE biller_id = ANY (:billers)
     GROUP BY 1, 6"""

METRICS_OF_PART = {
    "billed": ("billed",),
    "payments": ("paid", "topup"),
    "aging": ("aging",),
    "cut": ("cut",),
    "reconnect": ("reconnect",),
    "mandates": ("mandate-signed", "mandate-cancelled"),
    "debits": ("debit",),
}


@dataclass(frozen=True, slots=True)
class DayRow:
    biller_id: int
    business_date: date
    metric: str
    channel_id: int
    outlet_id: int
    key: str
    n: int
    bills: int
    amount: int
    seconds: int


Read = Row[int, date, str, int, int, str, Decimal, Decimal, Decimal, Decimal]


def row(found: Read) -> DayRow:
    """A row as read: the sums PostgreSQL makes numeric are integers again."""
    return DayRow(found[0], found[1], found[2], found[3], found[4], found[5],
                  int(found[6]), int(found[7]), int(found[8]), int(found[9]))  # fmt: skip


def statement(parts: Iterable[str], *, snapshot: bool = False) -> str:
    """One SELECT of the rows the ``parts`` make for the days ``:first`` to ``:last``."""
    selects = [f"({PARTS[p]})" for p in parts] + ([f"({SNAPSHOT})"] if snapshot else [])
    return f"SELECT {_COLUMNS} FROM ({' UNION ALL '.join(selects)}) AS f ({_COLUMNS})"  # noqa: S608 - constants


def bounds(first: date, last: date, billers: Iterable[int]) -> dict[str, object]:
    since, _ = day_bounds(first)
    _, until = day_bounds(last)
    return {"first": first, "last": last, "since": since, "until": until,
            "billers": sorted(billers)}  # fmt: skip


async def compute(
    conn: AsyncConnection,
    first: date,
    last: date,
    billers: Iterable[int],
    parts: Iterable[str],
    *,
    snapshot: bool = False,
) -> list[DayRow]:
    """The rows of the days ``first`` to ``last`` (both in), computed now from the sources."""
    rows = await conn.execute(
        text(statement(parts, snapshot=snapshot)), bounds(first, last, billers)
    )
    return [row(r) for r in rows]


async def first_day(conn: AsyncConnection, billers: Iterable[int]) -> date | None:
    """The first business day with a figure of these utilities: their first bill issued,
    payment finished or mandate signed (the first entry of an index each)."""
    row = await conn.execute(
        text(
            """
            SELECT min(least(
                (SELECT min(issued_at) FROM billing_bills WHERE biller_id = b.id),
                (SELECT min(finished_at) FROM payments_orders
                  WHERE biller_id = b.id AND status <> 'PROCESSING'),
                (SELECT min(signed_at) FROM autopay_mandate_dates WHERE biller_id = b.id)))
              FROM unnest(CAST(:billers AS integer[])) AS b (id)
            """
        ),
        {"billers": sorted(billers)},
    )
    first: datetime | None = row.scalar_one()
    return None if first is None else business_date(first)

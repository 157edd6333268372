"""Payments written straight into ``payments`` in bulk, as the write-off paths leave them,
for the tests of the minutes (``payment_minutes``) and of the anomalies read from them, and
of a payer's history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# n payments of one utility and channel created at :created (one every :spacing), each
# finished :latency later in :status (NULL latency: PROCESSING)
_MANY = """
INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                      amount, currency, bill_nos, status, failure_code, receipt_no, created_at,
                      finished_at, resolution, next_check_at, check_attempts,
                      refund_attempts, purpose)
SELECT :biller, :prefix || n, :channel, :prefix || n, '\\x00', :payer, '0100000001',
       100 + n, 'CNY', '{}', :status,
       CASE WHEN :status = 'FAILED' THEN 'DECLINED' END,
       CASE WHEN :status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED') THEN 'R-' || :prefix || n END,
       t.created, t.created + CAST(:latency AS interval),
       CASE WHEN :status = 'PROCESSING' THEN 'CONFIRMING' END,
       CASE WHEN :status = 'PROCESSING' THEN t.created END, 0, 0, 'bills'
  FROM generate_series(1, :n) AS n
 CROSS JOIN LATERAL (SELECT CAST(:created AS timestamptz)
                            + (n - 1) * CAST(:spacing AS interval) AS created) t
"""


async def write_payments(
    conn: AsyncConnection,
    *,
    biller: int,
    channel: int,
    prefix: str,
    n: int,
    created: datetime,
    status: str = "SUCCEEDED",
    latency: timedelta | None = timedelta(milliseconds=200),
    spacing: timedelta = timedelta(seconds=1),
    payer: str = "payer",
) -> None:
    """``n`` payments ``prefix``1… created from ``created``, one every ``spacing``, finished
    ``latency`` later in ``status`` (PROCESSING: not finished)."""
    if status == "PROCESSING":
        latency = None
    await conn.execute(
        text(_MANY),
        {"biller": biller, "channel": channel, "prefix": prefix, "n": n, "created": created,
         "status": status, "latency": latency, "spacing": spacing, "payer": payer},
    )  # fmt: skip

"""Cutting supply to accounts whose arrears outlived their grace period (停电).

An account in ARREARS for longer than its biller's grace period is CUT, set-based,
with a ``prepaid.cut`` event per account: the worker turns it into a disconnect
command for the account's meters, and the payer is told (the outage notice, once
per episode). Nobody is cut at night, at a weekend or on a holiday: cuts happen
on working days between 09:00 and 17:00 in Shanghai, when the payer can still
reach the utility and top up the same day.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay.calendar import is_working
from utilipay.clock import SHANGHAI, as_utc
from utilipay.prepaid.sql import typed

CUT_HOURS = (time(9), time(17))

_CUT = typed(
    """
    WITH due AS (
        SELECT pa.biller_id, pa.account_no, NOT ('CUT' = ANY (pa.notified)) AS notify
          FROM prepaid_accounts pa JOIN billers b ON b.id = pa.biller_id
         WHERE pa.state = 'ARREARS'
           AND pa.state_since <= :now - make_interval(secs => b.prepaid_cut_grace_s)
         FOR UPDATE OF pa SKIP LOCKED
    ), cut AS (
        UPDATE prepaid_accounts pa
           SET state = 'CUT', state_since = :now, cuts = pa.cuts + 1,
               notified = CASE WHEN due.notify THEN pa.notified || 'CUT'::text
                               ELSE pa.notified END
          FROM due
         WHERE pa.biller_id = due.biller_id AND pa.account_no = due.account_no
        RETURNING pa AS account, due.notify
    )
    INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT (account).biller_id, 'prepaid.cut', (account).account_no,
           prepaid_event(account, jsonb_build_object('notify', notify)), :now
      FROM cut
    """
)


def may_cut(now: datetime) -> bool:
    local = as_utc(now).astimezone(SHANGHAI)
    return is_working(local.date()) and CUT_HOURS[0] <= local.time() < CUT_HOURS[1]


async def cut_due(conn: AsyncConnection, now: datetime) -> int:
    """Cut every account whose grace period is over, if now is a time to cut; how many."""
    if not may_cut(now):
        return 0
    return (await conn.execute(_CUT, {"now": now})).rowcount

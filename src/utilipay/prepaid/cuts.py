"""Cutting supply to accounts whose arrears outlived their grace period (停电).

An account in ARREARS for longer than its biller's grace period is CUT, set-based,
with a ``prepaid.cut`` event per account: the worker turns it into a disconnect
command for the account's meters, and the payer is told (the outage notice, once
per episode). Nobody is cut without warning: the outage warning (停电预警) of the same
episode must have gone out at least the grace period before (an account enrolled at
a zero balance is in ARREARS, but is warned only by its first charge). Nobody is cut
at night, at a weekend or on a holiday either: cuts happen on working days between
09:00 and 17:00 in Shanghai, when the payer can still reach the utility and top up
the same day. The grace period is the biller's (``billers.prepaid_cut_grace_s``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.calendar.working import is_working, next_working
from utilipay.clock import SHANGHAI, as_utc
from utilipay.prepaid.params import typed

CUT_HOURS = (time(9), time(17))

_GRACE = "make_interval(secs => b.prepaid_cut_grace_s)"
# In ARREARS for the biller's grace period: a cut is due, if the payer was warned.
_ARREARS_OVER = f"pa.state = 'ARREARS' AND pa.state_since <= :now - {_GRACE}"
# This episode's outage warning went out, the grace period ago or earlier.
_WARNED = f"'ARREARS' = ANY (pa.notified) AND pa.outage_warned_at <= :now - {_GRACE}"

_CUT = typed(
    f"""
    WITH due AS (
        SELECT pa.biller_id, pa.account_no, NOT ('CUT' = ANY (pa.notified)) AS notify
          FROM prepaid_accounts pa JOIN billers_directory b ON b.id = pa.biller_id
         WHERE {_ARREARS_OVER} AND {_WARNED}
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
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT (account).biller_id, 'prepaid.cut', (account).account_no,
           prepaid_event(account, jsonb_build_object('notify', notify)), :now
      FROM cut
    """  # noqa: S608 - the constants above, never input
)
_UNWARNED = typed(
    f"""
    SELECT count(*) FROM prepaid_accounts pa JOIN billers_directory b ON b.id = pa.biller_id
     WHERE {_ARREARS_OVER} AND NOT coalesce({_WARNED}, false)
    """  # noqa: S608 - the constants above, never input
)


def may_cut(now: datetime) -> bool:
    local = as_utc(now).astimezone(SHANGHAI)
    return is_working(local.date()) and CUT_HOURS[0] <= local.time() < CUT_HOURS[1]


def first_cut_moment(in_arrears_since: datetime, warned_at: datetime, grace: timedelta) -> datetime:
    """When the pass first cuts an account in arrears since ``in_arrears_since`` and warned
    at ``warned_at`` (what ``_ARREARS_OVER`` and ``_WARNED`` ask, at a moment ``may_cut``
    allows), if nobody tops up; the pass runs every quarter of an hour, so from then."""
    earliest = max(in_arrears_since, warned_at) + grace
    if may_cut(earliest):
        return earliest
    local = earliest.astimezone(SHANGHAI)
    day = local.date()
    if not (is_working(day) and local.time() < CUT_HOURS[0]):
        day = next_working(day + timedelta(days=1))
    return datetime.combine(day, CUT_HOURS[0], tzinfo=SHANGHAI)


async def cut_due(conn: AsyncConnection, now: datetime) -> int:
    """Cut every account whose grace period is over, if now is a time to cut; how many."""
    if not may_cut(now):
        return 0
    return (await conn.execute(_CUT, {"now": now})).rowcount


async def held_for_warning(conn: AsyncConnection, now: datetime) -> int:
    """Accounts in arrears past the grace period that are not cut: their outage warning has
    not gone out in this episode, or went out less than the grace period ago."""
    return int((await conn.execute(_UNWARNED, {"now": now})).scalar_one())

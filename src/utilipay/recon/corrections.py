"""Corrections of a run's breaks: proposed with their evidence, applied once, audited.

A run proposes one correction per break that calls for one (classify.py); the
idempotency key (run, channel, order, action) is unique. Applying works through them
one at a time, and never holds a transaction while a utility thinks:

1. claim: the next proposed correction is locked (``FOR UPDATE SKIP LOCKED``: two
   people applying at once share the work) and, in that short transaction, either done
   at once — what needs no utility (``actions.py``) — and marked APPLIED, or marked
   IN_FLIGHT for this claim and committed (write-ahead) before the utility is called;
2. the call, outside any transaction;
3. its outcome, recorded and committed: APPLIED with who, when, why and what
   happened, or back to PROPOSED when the utility did not answer (applied again later).

A claim expires (``CLAIM_MARGIN`` plus twice the biller's total timeout per call): a
correction whose applier died between its call and the record is taken over by the
next apply after that, and sent again. That cannot reverse or charge twice: what is
sent is keyed by our payment id (the protocol's ``orderno``), so the utility answers
a repeated refund REVERSED and a repeated charge with its serial. The claim count
fences the record: an applier whose claim was taken over records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import BigInteger

from utilipay.audit import service as audit
from utilipay.billers.calls import log_call
from utilipay.billers.remote import RemoteBillers
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.recon.actions import HANDLERS, WHAT, Calls, Context, Plan
from utilipay.recon.classify import Action

CLAIM_MARGIN = timedelta(minutes=1)
CALLS_PER_CORRECTION = 2  # at most: confirm, then the charge again

_PROPOSE = text(
    """
    INSERT INTO recon_corrections (run_id, item_no, action, idempotency_key, class, biller_id,
                                   payment_id, channel_code, order_id, evidence)
    SELECT run_id, item_no, action,
           concat_ws(':', run_id, coalesce(channel_code, biller_id::text),
                     coalesce(order_id, payment_id), action),
           class, biller_id, payment_id, channel_code, coalesce(order_id, payment_id),
           jsonb_strip_nulls(jsonb_build_object(
               'hub', CASE WHEN hub_status IS NOT NULL THEN jsonb_build_object(
                   'payment_id', payment_id, 'status', hub_status, 'amount', hub_amount,
                   'at', hub_at) END,
               'channel', CASE WHEN channel_line IS NOT NULL THEN jsonb_build_object(
                   'channel', channel_code, 'order_id', order_id, 'net_lines', channel_lines,
                   'amount', channel_amount, 'at', channel_at, 'line', channel_line) END,
               'utility', CASE WHEN utility_line IS NOT NULL THEN jsonb_build_object(
                   'payment_id', payment_id, 'status', utility_status,
                   'net_lines', utility_lines, 'amount', utility_amount, 'at', utility_at,
                   'line', utility_line) END))
      FROM recon_items
     WHERE run_id = :run AND action IS NOT NULL
    """
)


class CorrectionStatus(StrEnum):
    """``recon_corrections.status``: proposed, claimed while its action runs, or done."""

    PROPOSED = "PROPOSED"
    IN_FLIGHT = "IN_FLIGHT"
    APPLIED = "APPLIED"


_SELECTED = """
    SELECT c.*, r.business_date, i.hub_status, i.hub_amount, i.channel_amount,
           i.utility_amount, i.utility_status
      FROM recon_corrections c
      JOIN recon_runs r ON r.id = c.run_id
      JOIN recon_items i ON i.run_id = c.run_id AND i.item_no = c.item_no
     WHERE c.run_id = :run
       AND (CAST(:only AS text) IS NULL OR c.class = :only OR c.action = :only)
"""
_OPEN = text(_SELECTED + " AND c.status <> 'APPLIED' ORDER BY c.item_no")
# The next correction to apply: proposed, or in flight on a claim that has expired.
_CLAIM = text(
    _SELECTED
    + """
       AND (c.status = 'PROPOSED' OR (c.status = 'IN_FLIGHT' AND c.claimed_until <= :now))
       AND c.item_no <> ALL (:tried)
     ORDER BY c.item_no LIMIT 1
       FOR UPDATE OF c SKIP LOCKED
    """
).bindparams(bindparam("tried", type_=ARRAY(BigInteger)))
_IN_FLIGHT = text(
    """
    UPDATE recon_corrections
       SET status = 'IN_FLIGHT', attempts = attempts + 1, claimed_by = :actor,
           claimed_until = :until, last_attempt = :note
     WHERE run_id = :run AND item_no = :item
    RETURNING attempts
    """
)
# The outcome, recorded by the claim that is still current (``attempts`` fences it).
_RECORD = text(
    """
    UPDATE recon_corrections
       SET status = CASE WHEN :applied THEN 'APPLIED' ELSE 'PROPOSED' END,
           outcome = CASE WHEN :applied THEN :outcome END,
           applied_at = CASE WHEN :applied THEN CAST(:now AS timestamptz) END,
           applied_by = CASE WHEN :applied THEN :actor END,
           reason = CASE WHEN :applied THEN :reason END,
           last_attempt = :outcome, attempts = :attempts
     WHERE run_id = :run AND item_no = :item AND attempts = :fence
       AND status <> 'APPLIED'
    """
)


@dataclass(frozen=True, slots=True)
class Applied:
    item_no: int
    action: str
    key: str
    order_id: str
    evidence: dict[str, Any]
    outcome: str
    applied: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item_no, "action": self.action, "key": self.key,
            "order_id": self.order_id, "evidence": self.evidence, "outcome": self.outcome,
            "applied": self.applied,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Job:
    engine: AsyncEngine
    clock: Clock
    billers: RemoteBillers
    run_id: int
    actor: str
    reason: str
    only: str | None


async def propose(conn: AsyncConnection, run_id: int) -> int:
    return (await conn.execute(_PROPOSE, {"run": run_id})).rowcount


async def apply(
    engine: AsyncEngine,
    clock: Clock,
    run_id: int,
    billers: RemoteBillers,
    *,
    actor: str,
    reason: str,
    only: str | None = None,
    dry_run: bool = False,
) -> list[Applied]:
    """Apply the run's corrections one at a time (or, dry, say what each would do); the
    ones in flight on another's claim are listed, not applied."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say why: a reason is required")
    async with engine.connect() as conn:
        exists = text("SELECT 1 FROM recon_runs WHERE id = :r")
        if not (await conn.execute(exists, {"r": run_id})).first():
            raise DomainError(ErrorCode.NOT_FOUND, f"no reconciliation run {run_id}")
        if dry_run:
            return [_described(row, clock.now()) for row in await _open(conn, run_id, only)]
    job = Job(engine, clock, billers, run_id, actor, reason, only)
    done: list[Applied] = []
    while (applied := await _apply_next(job, [d.item_no for d in done])) is not None:
        done.append(applied)
    async with engine.connect() as conn:
        tried = {d.item_no for d in done}
        rows = await _open(conn, run_id, only)
    in_flight = CorrectionStatus.IN_FLIGHT
    elsewhere = [r for r in rows if r.status == in_flight and r.item_no not in tried]
    return done + [_described(r, clock.now()) for r in elsewhere]


async def _open(conn: AsyncConnection, run_id: int, only: str | None) -> list[Any]:
    return list((await conn.execute(_OPEN, {"run": run_id, "only": only})).all())


def _described(row: Any, now: datetime) -> Applied:
    """A correction not applied by this call: what it would do, or whose claim it is on."""
    if row.status == CorrectionStatus.IN_FLIGHT and row.claimed_until > now:
        until = to_shanghai_iso(row.claimed_until)
        said = f"in flight: claimed by {row.claimed_by}, taken over after {until} if unrecorded"
    elif row.status == CorrectionStatus.IN_FLIGHT:
        said = f"in flight on an expired claim of {row.claimed_by}: the next apply takes it over"
    else:
        said = f"would {WHAT[Action(row.action)]}"
    return _applied(row, said, applied=False)


async def _apply_next(job: Job, tried: list[int]) -> Applied | None:
    """Claim the next correction and apply it; None when none is left to claim."""
    async with job.engine.begin() as conn:
        now = job.clock.now()
        values = {"run": job.run_id, "only": job.only, "now": now, "tried": tried}
        row = (await conn.execute(_CLAIM, values)).first()
        if row is None:
            return None
        context = Context(conn, job.clock, job.billers, job.reason, row)
        plan = await HANDLERS[Action(row.action)](context)
        if plan.ask is None or plan.remote is None:
            return await _record(conn, job, row, (row.attempts, row.attempts + 1), plan)
        calls = Calls(plan.remote)
        lease = CLAIM_MARGIN + timedelta(
            seconds=plan.remote.connection.total_timeout * 2 * CALLS_PER_CORRECTION
        )
        claim = {"actor": job.actor, "until": now + lease, "run": job.run_id,
                 "note": f"in flight: {WHAT[Action(row.action)]}", "item": row.item_no}  # fmt: skip
        attempt = (await conn.execute(_IN_FLIGHT, claim)).scalar_one()
    # committed: the utility is asked with no transaction open
    applied, outcome = await plan.ask(calls)
    async with job.engine.begin() as conn:
        for record in calls.records:
            await log_call(conn, row.biller_id, record, row.payment_id)
        return await _record(conn, job, row, (attempt, attempt), Plan(outcome, applied))


async def _record(
    conn: AsyncConnection, job: Job, row: Any, attempts: tuple[int, int], done: Plan
) -> Applied:
    """The outcome, if the claim it comes from is still current (``attempts``: the claim
    count it expects, and the count it leaves); audited when applied."""
    applied, outcome = done.applied, done.outcome
    values = {"applied": applied, "outcome": outcome, "now": job.clock.now(),
              "actor": job.actor, "reason": job.reason, "run": row.run_id, "item": row.item_no,
              "fence": attempts[0], "attempts": attempts[1]}  # fmt: skip
    if (await conn.execute(_RECORD, values)).rowcount == 0:
        taken = f"{outcome} (its claim was taken over: recorded by another)"
        return _applied(row, taken, applied=False)
    if applied:
        await audit.record(
            conn, job.clock, actor=job.actor, action=f"recon.{row.action.lower()}",
            object_type="payment" if row.payment_id else "order",
            object_id=row.payment_id or row.order_id, reason=job.reason,
            details={"run": row.run_id, "item": row.item_no, "key": row.idempotency_key,
                     "class": row._mapping["class"], "outcome": outcome,
                     "evidence": row.evidence},
        )  # fmt: skip
    return _applied(row, outcome, applied=applied)


def _applied(row: Any, outcome: str, *, applied: bool) -> Applied:
    return Applied(
        row.item_no, row.action, row.idempotency_key, row.order_id, row.evidence, outcome, applied
    )

"""Finding new bills at remote billers for accounts with an active mandate.

A remote biller keeps its bills; the hub asks (``query``) for each account
with an active mandate, every ``mandate_poll_s`` of its biller. The first
answer after signing is the baseline: the bills due then were issued before
the mandate and are never debited. A bill first seen later is new: it is
recorded and announced as ``bill.issued``, and scheduling picks it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, TypedDict

import orjson
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.autopay.tables import mandates
from utilipay.billers.calls import log_call
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import QueryAnswer, QueryRequest
from utilipay.billers.remote import BillerUnreachable, RemoteBillers
from utilipay.billers.schemas import Biller
from utilipay.clock import Clock
from utilipay.common.passes import Pass, work_through

RETRY = timedelta(minutes=10)  # an unanswered poll is tried again sooner than the interval

_DUE = text(
    """
    SELECT biller_id, id FROM mandates
     WHERE status = 'ACTIVE' AND next_poll_at <= :now
     ORDER BY next_poll_at LIMIT :limit
    """
)
_CLAIM = text(
    """
    SELECT biller_id, id, account_no, baseline_at FROM mandates
     WHERE biller_id = :b AND id = :m AND status = 'ACTIVE' AND next_poll_at <= :now
       FOR UPDATE SKIP LOCKED
    """
)
_RECORD = text(
    """
    WITH listed AS (
        SELECT * FROM jsonb_to_recordset(CAST(:bills AS jsonb))
            AS b (bill_no text, period text, amount bigint, late_fee bigint, due_date date)
    ), added AS (
        INSERT INTO observed_bills (biller_id, bill_no, account_no, period, amount, late_fee,
                                    due_date, first_seen_at, before_mandate)
        SELECT :biller_id, bill_no, :account_no, period, amount, late_fee, due_date, :now,
               :baseline
          FROM listed
        ON CONFLICT DO NOTHING
        RETURNING *
    )
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT biller_id, 'bill.issued', bill_no,
           jsonb_build_object('biller', CAST(:biller AS text), 'account_no', account_no,
                              'bill_no', bill_no, 'period', period, 'amount', amount,
                              'late_fee', late_fee, 'due_date', due_date),
           :now
      FROM added WHERE NOT before_mandate
    RETURNING aggregate_id
    """
)


class DueMandate(NamedTuple):
    biller_id: int
    id: str


@dataclass(frozen=True, slots=True)
class PolledMandate:
    """What a poll reads of a mandate it claimed."""

    biller_id: int
    id: str
    account_no: str
    baseline_at: datetime | None  # None: not polled yet, its first answer is the baseline


class PollKind(StrEnum):
    UNANSWERED = "unanswered"
    ANSWERED = "answered"  # with something else than bills or nothing due
    BASELINE = "baseline"
    NEW_BILLS = "new bills"
    NOTHING_NEW = "nothing new"


@dataclass(frozen=True, slots=True)
class Polled:
    """What one poll came to."""

    kind: PollKind
    code: Code | None = None  # ANSWERED: what the biller answered
    found: int = 0  # NEW_BILLS: how many

    def __str__(self) -> str:
        """As a pass counts it (``common.passes``: by what precedes a colon)."""
        if self.kind is PollKind.ANSWERED:
            return f"answered {self.code}"
        if self.kind is PollKind.NEW_BILLS:
            return f"new bills: {self.found}"
        return self.kind.value


class _Listed(TypedDict):
    bill_no: str
    period: str  # YYYY-MM
    amount: int
    late_fee: int
    due_date: str  # YYYY-MM-DD


def _bills(answer: QueryAnswer) -> list[_Listed]:
    return [
        {
            "bill_no": b.billno,
            "period": f"{b.period[:4]}-{b.period[4:]}",
            "amount": b.amount,
            "late_fee": b.latefee,
            "due_date": b.duedate.isoformat(),
        }
        for b in answer.bills
    ]


async def poll_one(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller: Biller,
    mandate: PolledMandate,
) -> Polled:
    try:
        answer = await billers.get(biller).call(QueryRequest(mandate.account_no))
    except BillerUnreachable as exc:
        async with engine.begin() as conn:
            await log_call(conn, biller.id, exc.record)
            await _next_poll(conn, mandate, clock.now() + RETRY)
        return Polled(PollKind.UNANSWERED)
    code, body = answer.message.head.code, answer.message.body
    listed = _bills(body) if code is Code.OK and isinstance(body, QueryAnswer) else []
    baseline = mandate.baseline_at is None
    now = clock.now()
    async with engine.begin() as conn:
        await log_call(conn, biller.id, answer.record)
        if code not in {Code.OK, Code.NOTHING_DUE}:
            await _next_poll(conn, mandate, now + RETRY)
            return Polled(PollKind.ANSWERED, code=code)
        new = await conn.execute(
            _RECORD,
            {
                "biller_id": biller.id, "biller": biller.code, "account_no": mandate.account_no,
                "bills": orjson.dumps(listed).decode(), "now": now,
                "baseline": baseline,
            },
        )  # fmt: skip
        found = len(new.all())
        await _next_poll(
            conn,
            mandate,
            now + timedelta(seconds=biller.mandate_poll_s),
            baseline_at=now if baseline else None,
        )
    if baseline:
        return Polled(PollKind.BASELINE)
    return Polled(PollKind.NEW_BILLS, found=found) if found else Polled(PollKind.NOTHING_NEW)


async def _next_poll(
    conn: AsyncConnection,
    mandate: PolledMandate,
    when: datetime,
    *,
    baseline_at: datetime | None = None,  # None: as it was
) -> None:
    values = {"next_poll_at": when}
    if baseline_at is not None:
        values["baseline_at"] = baseline_at
    await conn.execute(
        update(mandates)
        .where(mandates.c.biller_id == mandate.biller_id, mandates.c.id == mandate.id)
        .values(**values)
    )


async def poll_due(
    engine: AsyncEngine,
    clock: Clock,
    billers: RemoteBillers,
    biller_by_id: Callable[[int], Biller | None],
    *,
    limit: int = 500,
    concurrency: int = 8,
) -> Pass:
    async with engine.connect() as conn:
        rows = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()
    due = [DueMandate(*row) for row in rows]

    async def one(item: DueMandate) -> str | None:
        biller = biller_by_id(item.biller_id)
        if biller is None or biller.remote is None:
            return None
        async with engine.begin() as conn:  # claim it for a while: one poll at a time
            row = (await conn.execute(_CLAIM, {"b": item.biller_id, "m": item.id,
                                               "now": clock.now()})).first()  # fmt: skip
            if row is None:
                return None
            mandate = PolledMandate(*row)
            await _next_poll(conn, mandate, clock.now() + RETRY)
        return str(await poll_one(engine, clock, billers, biller, mandate))

    return await work_through(due, one, concurrency=concurrency)

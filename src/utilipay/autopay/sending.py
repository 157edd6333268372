"""A pass over the due debits, a batch at a time (the rules of a step: ``autopay/send.py``).

A batch goes through the three parts of a step together:

1. claim: one statement takes up to ``batch`` due debits under ``FOR UPDATE SKIP LOCKED``
   (another worker's batch is skipped, never waited for), with what deciding needs of
   each debit's mandate and bills; the rules decide each, and the leases and write-ahead
   sources are written for the whole batch before the transaction commits;
2. talk: the batch's requests go to the channels at once, at most ``concurrency`` of the
   process's in flight (the HTTP client keeps as many connections alive), no transaction
   open;
3. record: one transaction locks the batch again and records every answer; the money
   taken is then written off through the payment machinery (a hosted biller's payments
   are batched there) and the debits finished in one more transaction.

``lanes`` batches are worked at once, so one batch's database work overlaps another's
requests. A pass works each due debit at most once: what it makes due again at once (the
next source, a request to send again) waits for the next pass, as it always has.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.autopay.channel_debits import Result
from utilipay.autopay.debit_writes import Writes
from utilipay.autopay.schemas import Debit
from utilipay.autopay.send import (
    Claimed,
    Plan,
    Relocked,
    Senders,
    Step,
    decide,
    record,
    record_write_off,
    talk,
    write_off,
)
from utilipay.billers.schemas import IntegrationMode
from utilipay.clock import Clock
from utilipay.common.passes import Pass

T = TypeVar("T")
Decided = tuple[Debit, Plan | Step | str]

# Paid by hand: a hosted bill paid, or a remote bill held, by a payment that is not this
# debit's. A top-up is for one low-balance episode: moot once the payer topped up by hand.
# Only a debit about to be sent needs to know (a pending or taken one goes on regardless).
_CLAIM = text(
    """
    SELECT d.*, m.status AS mandate_status, m.cap, m.funding_sources,
           CASE WHEN d.channel_txn_id IS NOT NULL OR d.pending_source IS NOT NULL THEN false
                WHEN d.purpose = 'prepaid_topup' THEN coalesce(
                     (SELECT p.state = 'NORMAL' OR p.episode <> d.episode
                        FROM prepaid_balances p
                       WHERE p.biller_id = d.biller_id AND p.account_no = d.account_no), false)
                ELSE EXISTS (SELECT 1 FROM billing_bills b
                              WHERE b.biller_id = d.biller_id AND b.bill_no = ANY (d.bill_nos)
                                AND b.status = 'PAID' AND b.payment_id IS DISTINCT FROM
                                    (SELECT id FROM order_payment(d.channel_id, d.id)))
                  OR EXISTS (SELECT 1 FROM claims_held c
                              WHERE c.biller_id = d.biller_id AND c.bill_no = ANY (d.bill_nos)
                                AND c.payment_id IS DISTINCT FROM
                                    (SELECT id FROM order_payment(d.channel_id, d.id)))
           END AS settled_otherwise
      FROM debits d JOIN mandates m ON m.biller_id = d.biller_id AND m.id = d.mandate_id
     WHERE d.status IN ('SCHEDULED', 'SENT') AND d.next_attempt_at <= :now
       AND d.id <> ALL (CAST(:seen AS text[]))
     ORDER BY d.next_attempt_at
     LIMIT :limit
       FOR UPDATE OF d SKIP LOCKED
    """
)
# In one order (by id), so two transactions locking overlapping batches cannot deadlock.
_RELOCK = text(
    """
    SELECT d.*, m.funding_sources,
           (SELECT coalesce(max(a.attempt), 0) FROM debit_attempts a
             WHERE a.biller_id = d.biller_id AND a.debit_id = d.id) AS attempts_made
      FROM debits d JOIN mandates m ON m.biller_id = d.biller_id AND m.id = d.mandate_id
     WHERE d.id = ANY (CAST(:ids AS text[]))
     ORDER BY d.id
       FOR UPDATE OF d
    """
)


async def send_due(
    engine: AsyncEngine,
    clock: Clock,
    senders: Senders,
    *,
    limit: int = 2000,
    batch: int = 200,
    lanes: int = 2,
    concurrency: int = 64,
) -> Pass:
    """One pass over the debits that are due (at most ``limit`` of them)."""
    seen: set[str] = set()
    results: Counter[str] = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def lane() -> None:
        while len(seen) < limit:
            decided = await _claim(engine, clock, senders, min(batch, limit - len(seen)), seen)
            if not decided:
                return
            for outcome in await _work(engine, clock, senders, gate, decided):
                results[outcome.split(":")[0]] += 1

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return Pass(len(seen), dict(results))


async def _claim(
    engine: AsyncEngine, clock: Clock, senders: Senders, size: int, seen: set[str]
) -> list[Decided]:
    now = clock.now()
    writes = Writes()
    async with engine.begin() as conn:
        rows = await conn.execute(_CLAIM, {"now": now, "limit": size, "seen": list(seen)})
        decided = [
            (c.debit, decide(writes, senders, c, now)) for c in map(_claimed, rows.mappings())
        ]
        await writes.flush(conn)
    seen.update(debit.id for debit, _ in decided)
    return decided


def _claimed(fields: RowMapping) -> Claimed:
    return Claimed(Debit.of(fields), fields["mandate_status"], fields["cap"],
                   fields["funding_sources"], fields["settled_otherwise"])  # fmt: skip


async def _work(
    engine: AsyncEngine, clock: Clock, senders: Senders, gate: asyncio.Semaphore,
    decided: list[Decided],
) -> list[str]:  # fmt: skip
    """What became of each debit of a claimed batch."""
    outcomes = [plan for _, plan in decided if not isinstance(plan, Plan)]
    plans = [(debit, plan) for debit, plan in decided if isinstance(plan, Plan)]
    to_talk = [(debit, plan) for debit, plan in plans if plan.kind != "write_off"]
    answers = await _bounded(gate, [talk(clock, senders, debit, plan) for debit, plan in to_talk])
    recorded, taken = await _record(engine, clock, to_talk, answers)
    to_write_off = [
        (debit, debit.pending_source) for debit, plan in plans if plan.kind == "write_off"
    ]
    written_off = await _write_off(engine, clock, senders, gate, to_write_off + taken)
    return outcomes + recorded + written_off


async def _record(
    engine: AsyncEngine, clock: Clock, talked: list[tuple[Debit, Plan]], answers: list[Result]
) -> tuple[list[str], list[tuple[Debit, str | None]]]:
    """Every answer recorded; the outcomes, and the debits whose money was taken (with the
    source that paid), to be written off."""
    if not talked:
        return [], []
    now = clock.now()
    writes = Writes()
    outcomes: list[str] = []
    taken: list[tuple[Debit, str | None]] = []
    async with engine.begin() as conn:
        rows = await conn.execute(_RELOCK, {"ids": [debit.id for debit, _ in talked]})
        current = {row["id"]: _relocked(row) for row in rows.mappings()}
        for (debit, plan), answer in zip(talked, answers, strict=True):
            locked = current[debit.id]
            if locked.debit.pending_source != plan.source:
                outcomes.append(Step.SKIPPED)  # settled meanwhile
                continue
            outcome = record(writes, now, locked, plan, answer)
            if outcome is Step.TAKEN:
                taken.append((locked.debit, plan.source))
            else:
                outcomes.append(outcome)
        await writes.flush(conn)
    return outcomes, taken


def _relocked(fields: RowMapping) -> Relocked:
    return Relocked(Debit.of(fields), fields["funding_sources"], fields["attempts_made"],
                    fields["next_attempt_at"])  # fmt: skip


async def _write_off(
    engine: AsyncEngine, clock: Clock, senders: Senders, gate: asyncio.Semaphore,
    taken: list[tuple[Debit, str | None]],
) -> list[str]:  # fmt: skip
    if not taken:
        return []
    done = await asyncio.gather(
        *(_gated(gate, write_off(senders, debit)) if _calls_out(senders, debit)
          else write_off(senders, debit) for debit, _ in taken)
    )  # fmt: skip
    writes = Writes()
    outcomes: list[str] = []
    async with engine.begin() as conn:
        for (debit, paid_by), written in zip(taken, done, strict=True):
            if written is None:
                outcomes.append(Step.WAITING)  # until the directory knows its biller
            else:
                outcomes.append(await record_write_off(conn, writes, clock, debit, paid_by,
                                                       written))  # fmt: skip
        await writes.flush(conn)
    return outcomes


def _calls_out(senders: Senders, debit: Debit) -> bool:
    """Whether a debit's write-off waits on a network call or a transaction of its own (a
    remote biller's, a top-up's), so it takes a place among the ``concurrency`` in flight.
    A hosted bill's goes to the hosted payment batcher, which bounds its own calls: the
    whole batch's reach it at once and are written off in a few batch calls (through the
    gate, they reached it a few at a time: ~6 a call, each call a commit and a pass over
    the payment counters)."""
    biller = senders.biller_by_id(debit.biller_id)
    hosted = biller is not None and biller.mode is IntegrationMode.HOSTED
    return not hosted or debit.purpose == "prepaid_topup"


async def _gated(gate: asyncio.Semaphore, call: Awaitable[T]) -> T:
    async with gate:
        return await call


async def _bounded(gate: asyncio.Semaphore, calls: Sequence[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*(_gated(gate, call) for call in calls)))

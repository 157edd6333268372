"""Delivering queued notifications, as webhooks are delivered: at least once, logged.

No transaction is open while a provider answers (docs/transactions.md). A pass works
the due messages a batch at a time, as the webhooks and the auto-pay debits are sent
(docs/autopay.md, "The senders' shape"): one statement claims a batch (locked ``SKIP
LOCKED``, each attempt counted, leased until ``LEASE`` from now) and commits; the batch
is sent, at most ``concurrency`` at once; then one transaction logs every attempt in
``notification_attempts`` and records each outcome only where the message's
``attempts`` is still this claim's. Two workers never send one at once; a worker killed
mid-send leaves it due when its lease ends (recipients dedupe on its id). A message not
acknowledged is retried with the webhooks' backoff (5 s doubling to an hour, jittered)
until it is older than ``give_up_after`` (24 hours by default), then given up.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.common.columns import Columns
from utilipay.common.leases import claim_batch, record_batch
from utilipay.common.passes import Pass, in_batches
from utilipay.notify.providers.base import Outcome, Provider
from utilipay.notify.schemas import Notification, to_notification
from utilipay.notify.tables import notification_attempts, notifications
from utilipay.webhooks.service import backoff

GIVE_UP_AFTER = timedelta(hours=24)
# A claimed message is due again after this, should its worker die while sending it:
# longer than any provider's timeout (10 s for the SMTP conversation and for HTTP).
LEASE = timedelta(seconds=40)


@dataclass(frozen=True, slots=True)
class Sent:
    """One attempt at a claimed message: what came of it, through which provider."""

    notification: Notification
    provider: Provider | None
    outcome: Outcome
    duration_ms: int


async def deliver_due_notifications(
    engine: AsyncEngine,
    clock: Clock,
    providers: Mapping[str, Provider],
    *,
    give_up_after: timedelta = GIVE_UP_AFTER,
    limit: int = 500,
    batch: int = 100,
    concurrency: int = 16,
) -> Pass:
    """One pass over the due messages; ``providers`` by recipient kind (``build_providers``)."""
    gate = asyncio.Semaphore(concurrency)

    async def work(claimed: list[Notification]) -> Counter[str]:
        now = clock.now()
        sent = await asyncio.gather(*(_timed(gate, providers, n, now) for n in claimed))
        async with engine.begin() as conn:
            return await _record(conn, sent, now, give_up_after)

    return await in_batches(lambda size: _claim(engine, clock, size), work, limit=limit,
                            batch=batch)  # fmt: skip


async def _claim(engine: AsyncEngine, clock: Clock, size: int) -> list[Notification]:
    """Up to ``size`` due messages no other worker has, leased for one attempt each (as
    they were before the claim: ``attempts`` is the attempts made so far)."""
    now = clock.now()
    async with engine.begin() as conn:
        rows = await claim_batch(
            conn, notifications, ("biller_id", "id"), open_status="PENDING", now=now,
            until=now + LEASE, limit=size,
        )  # fmt: skip
    return [to_notification({**r._mapping, "attempts": r.attempts - 1}) for r in rows]


async def _timed(
    gate: asyncio.Semaphore, providers: Mapping[str, Provider], notification: Notification,
    now: datetime,
) -> Sent:  # fmt: skip
    provider = providers.get(notification.recipient_kind)
    async with gate:
        started = time.monotonic()
        outcome = await _send(provider, notification, now)
    return Sent(notification, provider, outcome, int((time.monotonic() - started) * 1000))


async def _send(provider: Provider | None, notification: Notification, now: datetime) -> Outcome:
    if provider is None:
        return Outcome(False, error=f"no provider for {notification.recipient_kind}")
    try:
        return await provider.send(notification, now)
    # Whatever stopped this message is its attempt's error, logged and retried; it must not
    # end the pass for the others.
    except Exception as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])


async def _record(
    conn: AsyncConnection, batch: list[Sent], now: datetime, give_up_after: timedelta
) -> Counter[str]:
    """Every attempt logged; each outcome, unless a later claim has taken its message over
    ("overtaken")."""
    log, settle, results = Columns(), Columns(), {}
    for s in batch:
        n, provider, outcome = s.notification, s.provider, s.outcome
        attempt = n.attempts + 1
        log.add(biller_id=n.biller_id, notification_id=n.id, attempt=attempt, at=now,
                provider=provider.name if provider else "",
                destination=provider.destination(n) if provider else "",
                acknowledged=outcome.acknowledged, status_code=outcome.status_code,
                error=outcome.error, duration_ms=s.duration_ms)  # fmt: skip
        status, result = _settled(n, outcome, now, give_up_after)
        retry_at = now + backoff(attempt) if status == "PENDING" else None
        settle.add(biller_id=n.biller_id, id=n.id, attempts=attempt, status=status,
                   sent_at=now if status == "SENT" else None, next_attempt_at=retry_at)  # fmt: skip
        results[n.biller_id, n.id] = result
    return await record_batch(
        conn, notification_attempts, log, notifications, ("biller_id", "id"), settle, results
    )


def _settled(
    notification: Notification, outcome: Outcome, now: datetime, give_up_after: timedelta
) -> tuple[str, str]:
    """The message's status after this attempt, and what the pass counts."""
    if outcome.acknowledged:
        return "SENT", "sent"
    if now - notification.created_at >= give_up_after:
        return "GAVE_UP", "gave up"
    return "PENDING", "retry"

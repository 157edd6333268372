"""Delivering queued notifications, as webhooks are delivered: at least once, logged.

No transaction is open while a provider answers (docs/transactions.md): a due
message is claimed (locked ``SKIP LOCKED``, its attempt counted, leased until
``LEASE`` from now) and committed; then sent; then the attempt is recorded, its
outcome only if the message's ``attempts`` is still this claim's. Two workers
never send one at once; a worker killed mid-send leaves it due when its lease
ends (recipients dedupe on its id). Every attempt is written to
``notification_attempts``. A message not acknowledged is retried
with the webhooks' backoff (5 s doubling to an hour, jittered) until it is
older than ``give_up_after`` (24 hours by default), then given up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.clock import Clock
from utilipay.common.leases import claim_due
from utilipay.common.passes import Pass, work_through
from utilipay.notify.providers.base import Outcome, Provider
from utilipay.notify.schemas import Notification, to_notification
from utilipay.notify.tables import notification_attempts, notifications
from utilipay.webhooks.service import backoff

GIVE_UP_AFTER = timedelta(hours=24)
# A claimed message is due again after this, should its worker die while sending it:
# longer than any provider's timeout (10 s for the SMTP conversation and for HTTP).
LEASE = timedelta(seconds=40)

_DUE = text(
    """
    SELECT biller_id, id FROM notifications
     WHERE status = 'PENDING' AND next_attempt_at <= :now
     ORDER BY next_attempt_at LIMIT :limit
    """
)


async def deliver_due_notifications(
    engine: AsyncEngine,
    clock: Clock,
    providers: Mapping[str, Provider],
    *,
    give_up_after: timedelta = GIVE_UP_AFTER,
    limit: int = 500,
    concurrency: int = 16,
) -> Pass:
    """One pass over the due messages; ``providers`` by recipient kind (``build_providers``)."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: Any) -> str:
        return await _deliver_one(engine, clock, providers, item, give_up_after)

    return await work_through(due, one, concurrency=concurrency)


async def _deliver_one(
    engine: AsyncEngine,
    clock: Clock,
    providers: Mapping[str, Provider],
    item: Any,
    give_up_after: timedelta,
) -> str:
    """Claim, send (no transaction open), record: see the module's docstring."""
    claimed = await _claim(engine, clock, item.biller_id, item.id)
    if claimed is None:
        return "skipped"  # another worker has it, or it is done
    notification, now = claimed
    provider = providers.get(notification.recipient_kind)
    started = time.monotonic()
    outcome = await _send(provider, notification, now)
    async with engine.begin() as conn:
        await _log_attempt(
            conn, notification, provider, outcome, now, int((time.monotonic() - started) * 1000)
        )
        return await _settle(conn, notification, outcome, now, give_up_after)


async def _claim(
    engine: AsyncEngine, clock: Clock, biller_id: int, notification_id: str
) -> tuple[Notification, datetime] | None:
    """The message, if it is due and no other worker has it, leased for one attempt: its
    ``attempts`` counts this one (and fences its record), and it is not due again before
    the lease ends."""
    key = (notifications.c.biller_id == biller_id) & (notifications.c.id == notification_id)
    now = clock.now()
    async with engine.begin() as conn:
        row = await claim_due(
            conn, notifications, key, open_statuses=("PENDING",), now=now, until=now + LEASE
        )
    if row is None:
        return None
    return to_notification(row._mapping), now


async def _send(provider: Provider | None, notification: Notification, now: datetime) -> Outcome:
    if provider is None:
        return Outcome(False, error=f"no provider for {notification.recipient_kind}")
    try:
        return await provider.send(notification, now)
    # Whatever stopped this message is its attempt's error, logged and retried; it must not
    # end the pass for the others.
    except Exception as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])


async def _log_attempt(
    conn: AsyncConnection,
    notification: Notification,
    provider: Provider | None,
    outcome: Outcome,
    now: datetime,
    duration_ms: int,
) -> None:
    await conn.execute(
        insert(notification_attempts).values(
            biller_id=notification.biller_id,
            notification_id=notification.id,
            attempt=notification.attempts + 1,
            at=now,
            provider=provider.name if provider else "",
            destination=provider.destination(notification) if provider else "",
            acknowledged=outcome.acknowledged,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=duration_ms,
        )
    )


async def _settle(
    conn: AsyncConnection,
    notification: Notification,
    outcome: Outcome,
    now: datetime,
    give_up_after: timedelta,
) -> str:
    attempt = notification.attempts + 1
    values: dict[str, Any]
    if outcome.acknowledged:
        values = {"status": "SENT", "sent_at": now, "next_attempt_at": None}
        result = "sent"
    elif now - notification.created_at >= give_up_after:
        values, result = {"status": "GAVE_UP", "next_attempt_at": None}, "gave up"
    else:
        values, result = {"next_attempt_at": now + backoff(attempt)}, "retry"
    recorded = await conn.execute(
        update(notifications)
        .where(
            notifications.c.biller_id == notification.biller_id,
            notifications.c.id == notification.id,
            notifications.c.attempts == attempt,  # the fence
            notifications.c.status == "PENDING",
        )
        .values(**values)
    )
    return result if recorded.rowcount else "overtaken"

"""Webhooks to channels (channel-api.md §7): signed, retried, at least once, logged.

A payment that reaches a final status becomes one delivery per channel (a
unique index makes dispatching twice harmless). A delivery is POSTed, signed
as in §3 with the channel's current secret and the hub's code ``UTILIPAY``;
any 2xx acknowledges it. Otherwise it is retried with exponential backoff and
jitter for two days (the contract asks for at least one), every attempt
written to ``webhook_attempts``.

No transaction is open while the channel answers (docs/transactions.md): a due
delivery is claimed (locked ``SKIP LOCKED``, its attempt counted, leased until
``LEASE`` from now) and committed; then posted; then the attempt is recorded,
its outcome only if the delivery's ``attempts`` is still this claim's. Two
workers never post it at once; a worker killed mid-send leaves it due when its
lease ends, and the channel dedupes on ``data.id`` plus ``type``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.common import outgoing
from utilipay.common.leases import claim_due
from utilipay.common.passes import Pass, work_through
from utilipay.security.signing import new_nonce, signed_headers
from utilipay.webhooks.tables import webhook_attempts, webhook_deliveries

HUB_CODE = "UTILIPAY"
FIRST_RETRY = 5.0  # seconds
MAX_RETRY = 3600.0
GIVE_UP_AFTER = timedelta(hours=48)
TIMEOUT = 10.0
# A claimed delivery is due again after this, should its worker die while posting it.
LEASE = timedelta(seconds=TIMEOUT + 30)

_DUE = text(
    """
    SELECT channel_id, id FROM webhook_deliveries
     WHERE status = 'PENDING' AND next_attempt_at <= :now
     ORDER BY next_attempt_at LIMIT :limit
    """
)


def backoff(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Delay after the ``attempt``-th failure: doubling from 5 s to at most an hour, with jitter
    (between half and all of it, so retries of one outage do not arrive in lockstep)."""
    ceiling = min(MAX_RETRY, FIRST_RETRY * 2 ** (attempt - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


async def enqueue(
    conn: AsyncConnection,
    channel_id: int,
    event_type: str,
    object_id: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        pg_insert(webhook_deliveries)
        .values(
            channel_id=channel_id,
            event_type=event_type,
            object_id=object_id,
            payload={"type": event_type, "data": data},
            status="PENDING",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True, slots=True)
class Sent:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def acknowledged(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post_signed(
    http: httpx.AsyncClient, channel: Channel, url: str, body: bytes, now: datetime
) -> Sent:
    """POST ``body`` to the channel, signed; what came of it (a failure is a result)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    headers = signed_headers(
        HUB_CODE,
        channel.secret,
        "POST",
        f"{path}?{parts.query}" if parts.query else path,
        body,
        int(now.timestamp()),
        new_nonce(),
    )
    started = time.monotonic()
    request = http.build_request(
        "POST", url, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    try:
        reply = await outgoing.exchange(http, request, limit=outgoing.REPLY_LIMIT)
        status, error = reply.status_code, None
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    except outgoing.ReplyRefused as exc:
        status, error = None, exc.reason
    return Sent(status, error, int((time.monotonic() - started) * 1000))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one worker for its attempt number ``attempt``, claimed ``at``."""

    id: int
    attempt: int  # also the fence: the record applies only while the row still counts it
    payload: object
    created_at: datetime
    at: datetime


async def deliver_one(
    engine: AsyncEngine,
    clock: Clock,
    http: httpx.AsyncClient,
    channel: Channel,
    delivery_id: int,
) -> str:
    """Claim, post (no transaction open), record: see the module's docstring."""
    claimed = await _claim(engine, clock, channel.id, delivery_id)
    if claimed is None:
        return "skipped"
    url = channel.webhook_url
    sent = (
        Sent(None, "the channel has no webhook URL", 0)
        if url is None
        else await post_signed(http, channel, url, orjson.dumps(claimed.payload), claimed.at)
    )
    async with engine.begin() as conn:
        return await _record(conn, channel.id, claimed, url or "", sent)


async def _claim(
    engine: AsyncEngine, clock: Clock, channel_id: int, delivery_id: int
) -> Claimed | None:
    """The delivery, if it is due and no other worker has it, leased for one attempt:
    its ``attempts`` counts this one (and fences its record), and it is not due again
    before the lease ends."""
    key = (webhook_deliveries.c.channel_id == channel_id) & (webhook_deliveries.c.id == delivery_id)
    now = clock.now()
    async with engine.begin() as conn:
        row = await claim_due(
            conn, webhook_deliveries, key, open_statuses=("PENDING",), now=now, until=now + LEASE
        )
    if row is None:
        return None
    attempt = row.attempts + 1
    return Claimed(row.id, attempt, row.payload, row.created_at, now)


async def _record(
    conn: AsyncConnection, channel_id: int, claimed: Claimed, url: str, sent: Sent
) -> str:
    """The attempt, logged; its outcome, unless a later claim has taken the delivery over."""
    attempt, now = claimed.attempt, claimed.at
    await conn.execute(
        insert(webhook_attempts).values(
            channel_id=channel_id,
            delivery_id=claimed.id,
            attempt=attempt,
            at=now,
            url=url,
            status_code=sent.status_code,
            error=sent.error,
            duration_ms=sent.duration_ms,
        )
    )
    if sent.acknowledged:
        values: dict[str, Any] = {"status": "DELIVERED", "delivered_at": now}
        outcome = "delivered"
    elif now - claimed.created_at >= GIVE_UP_AFTER:
        values, outcome = {"status": "GAVE_UP"}, "gave up"
    else:
        values = {"next_attempt_at": now + backoff(attempt)}
        outcome = "retry"
    if values.get("status"):
        values["next_attempt_at"] = None
    recorded = await conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.channel_id == channel_id,
            webhook_deliveries.c.id == claimed.id,
            webhook_deliveries.c.attempts == attempt,  # the fence
            webhook_deliveries.c.status == "PENDING",
        )
        .values(**values)
    )
    return outcome if recorded.rowcount else "overtaken"


async def deliver_due(
    engine: AsyncEngine,
    clock: Clock,
    http: httpx.AsyncClient,
    channel_by_id: Callable[[int], Channel | None],
    *,
    limit: int = 500,
    concurrency: int = 16,
) -> Pass:
    """One pass over the deliveries that are due."""
    async with engine.connect() as conn:
        due = (await conn.execute(_DUE, {"now": clock.now(), "limit": limit})).all()

    async def one(item: Any) -> str | None:
        channel = channel_by_id(item.channel_id)
        if channel is None:
            return None
        return await deliver_one(engine, clock, http, channel, item.id)

    return await work_through(due, one, concurrency=concurrency)


def http_client() -> httpx.AsyncClient:
    return outgoing.http_client(TIMEOUT, 3.0)

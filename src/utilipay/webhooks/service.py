"""Webhooks to channels (channel-api.md §7): signed, retried, at least once, logged.

A payment that reaches a final status becomes one delivery per channel (a
unique index makes dispatching twice harmless). A delivery is POSTed, signed
as in §3 with the channel's current secret and the hub's code ``UTILIPAY``;
any 2xx acknowledges it. Otherwise it is retried with exponential backoff and
jitter for two days (the contract asks for at least one), every attempt
written to ``webhook_attempts``.

No transaction is open while the channel answers (docs/transactions.md). A pass
works the due deliveries a batch at a time, as the auto-pay sender does its debits
(docs/autopay.md, "The senders' shape"): one statement claims a batch (locked ``SKIP
LOCKED``, so another worker's batch is passed by; each attempt counted and leased until
``LEASE`` from now) and commits; the batch is posted, at most ``concurrency`` at once;
then one transaction records the batch in two statements: every attempt logged, and
each outcome only where the delivery's ``attempts`` is still this claim's (the fence).
Two workers never post one delivery at once; a worker killed mid-send leaves it due
when its lease ends, and the channel dedupes on ``data.id`` plus ``type``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.common import outgoing
from utilipay.common.columns import Columns
from utilipay.common.leases import claim_batch, record_batch
from utilipay.common.outgoing_aiohttp import ExchangeFailed, PooledClient
from utilipay.common.passes import Pass, in_batches
from utilipay.security.signing import new_nonce, signed_headers
from utilipay.webhooks.tables import webhook_attempts, webhook_deliveries

HUB_CODE = "UTILIPAY"
FIRST_RETRY = 5.0  # seconds
MAX_RETRY = 3600.0
GIVE_UP_AFTER = timedelta(hours=48)
TIMEOUT = 10.0
# A claimed delivery is due again after this, should its worker die while posting it.
LEASE = timedelta(seconds=TIMEOUT + 30)


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
    http: PooledClient, channel: Channel, url: str, body: bytes, now: datetime
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
    try:
        reply = await http.exchange(
            "POST", url, {**headers, "Content-Type": "application/json"}, body,
            limit=outgoing.REPLY_LIMIT,
        )  # fmt: skip
        status, error = reply.status_code, None
    except ExchangeFailed as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    except outgoing.ReplyRefused as exc:
        status, error = None, exc.reason
    return Sent(status, error, int((time.monotonic() - started) * 1000))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one worker for its attempt number ``attempt``, claimed ``at``."""

    channel_id: int
    id: int
    attempt: int  # also the fence: the record applies only while the row still counts it
    payload: object
    created_at: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class Posted:
    """What one attempt of a claimed delivery got, and where it was sent."""

    claimed: Claimed
    url: str
    sent: Sent


async def deliver_due(
    engine: AsyncEngine,
    clock: Clock,
    http: PooledClient,
    channel_by_id: Callable[[int], Channel | None],
    *,
    limit: int = 500,
    batch: int = 100,
    concurrency: int = 16,
) -> Pass:
    """One pass over the deliveries that are due (at most ``limit``): claim a batch, post
    it (no transaction open), record it; again until none is due. What the pass leased
    is not due again within it."""
    gate = asyncio.Semaphore(concurrency)

    async def work(claimed: list[Claimed]) -> Counter[str]:
        posted = await asyncio.gather(*(_post(gate, http, channel_by_id, c) for c in claimed))
        async with engine.begin() as conn:
            return await _record(conn, posted)

    return await in_batches(lambda size: _claim(engine, clock, size), work, limit=limit,
                            batch=batch)  # fmt: skip


async def _claim(engine: AsyncEngine, clock: Clock, size: int) -> list[Claimed]:
    """Up to ``size`` due deliveries no other worker has, leased for one attempt each:
    ``attempts`` counts it (and fences its record), and none is due again before its
    lease ends."""
    now = clock.now()
    async with engine.begin() as conn:
        rows = await claim_batch(
            conn, webhook_deliveries, ("channel_id", "id"), open_status="PENDING",
            now=now, until=now + LEASE, limit=size,
        )  # fmt: skip
    return [Claimed(r.channel_id, r.id, r.attempts, r.payload, r.created_at, now) for r in rows]


async def _post(
    gate: asyncio.Semaphore,
    http: PooledClient,
    channel_by_id: Callable[[int], Channel | None],
    claimed: Claimed,
) -> Posted:
    channel = channel_by_id(claimed.channel_id)
    url = channel.webhook_url if channel else None
    if channel is None or url is None:  # a failed attempt: retried as any other
        problem = "the channel has no webhook URL" if channel else "the channel is not known"
        return Posted(claimed, url or "", Sent(None, problem, 0))
    async with gate:
        body = orjson.dumps(claimed.payload)
        return Posted(claimed, url, await post_signed(http, channel, url, body, claimed.at))


async def _record(conn: AsyncConnection, batch: list[Posted]) -> Counter[str]:
    """Every attempt logged; each outcome, unless a later claim has taken its delivery
    over ("overtaken")."""
    log, settle, outcomes = Columns(), Columns(), {}
    for p in batch:
        c, sent = p.claimed, p.sent
        log.add(channel_id=c.channel_id, delivery_id=c.id, attempt=c.attempt, at=c.at,
                url=p.url, status_code=sent.status_code, error=sent.error,
                duration_ms=sent.duration_ms)  # fmt: skip
        status, outcome = _outcome(c, sent)
        settle.add(channel_id=c.channel_id, id=c.id, attempts=c.attempt, status=status,
                   next_attempt_at=c.at + backoff(c.attempt) if status == "PENDING" else None,
                   delivered_at=c.at if status == "DELIVERED" else None)  # fmt: skip
        outcomes[c.channel_id, c.id] = outcome
    return await record_batch(
        conn, webhook_attempts, log, webhook_deliveries, ("channel_id", "id"), settle, outcomes
    )


def _outcome(claimed: Claimed, sent: Sent) -> tuple[str, str]:
    """The delivery's status after this attempt, and what the pass counts."""
    if sent.acknowledged:
        return "DELIVERED", "delivered"
    if claimed.at - claimed.created_at >= GIVE_UP_AFTER:
        return "GAVE_UP", "gave up"
    return "PENDING", "retry"


def http_client() -> PooledClient:
    """On aiohttp, as the debit sender's: a sixth of httpx's CPU a request at volume
    (``common/outgoing_aiohttp.py``)."""
    return PooledClient(TIMEOUT, 3.0)

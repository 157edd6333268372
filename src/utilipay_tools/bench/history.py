"""``utilipay bench history``: how fast a payer's history pages answer
(``GET /v1/payments?payer=…``, channel-api.md §13) among millions of payments.

A database of its own (``utilipay_bench_history``, rebuilt each run) gets N payments of
four utilities by M payers over the last 366 days, written set-based (``INSERT … SELECT
generate_series``, a million a statement) through the payments' real triggers, the
secondary indexes dropped first and built again after (as ``bench collection`` loads), then
analysed. Each payer pays at a home channel (one of three wallets); one
payment in ten is at another channel under the same payer id, so a page must leave those
out. Times are spread over the year by a hash of the row number, so a payer's rows lie
across the heap as they would after a year of traffic, not side by side.

A hub serves it over HTTP (uvicorn, in a thread of this process); the client signs each
request as the channel. Timed, one request at a time after a warm-up, each for random
payers: the first page (default span), the page after it (its ``next_cursor``, for payers
with more than one page), and the first page by the service function on one connection
(the database and serialization without HTTP). The baselines of the same run:
``GET /v1/payments/{id}`` (a signed request reading one row by key) and ``SELECT 1``
through the hub's driver.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock, business_date
from utilipay.config import Settings
from utilipay.payments import history
from utilipay.web.app import create_app
from utilipay.web.server import ServerThread
from utilipay_tools.bench.collection_data import tune_for_load, without_secondary_indexes
from utilipay_tools.bench.console import (
    WARM_UP,
    Timing,
    machine_of,
    own_database,
    select_one,
    time_requests,
)
from utilipay_tools.client import ChannelClient

DATABASE = "utilipay_bench_history"
CHANNELS = ("WECHAT", "ALIPAY", "UNIONPAY")
BILLERS = (("BENCHWATER", Category.WATER), ("BENCHPOWER", Category.ELECTRICITY),
           ("BENCHGAS", Category.GAS), ("BENCHHEAT", Category.HEATING))  # fmt: skip
TARGET_P95_MS = 50.0
CHUNK = 1_000_000  # payments a statement
SEED = 14

# payer p's home channel is p % 3; every tenth payment is at the next channel
_PAYMENTS = """
INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                      amount, currency, bill_nos, status, failure_code, receipt_no,
                      resolution, created_at, finished_at, purpose)
SELECT b[1 + i % cardinality(b)], 'P' || lpad(i::text, 12, '0'),
       c[1 + (i % :payers + CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END) % cardinality(c)],
       'O' || i, '\\x00', 'payer-' || i % :payers, lpad((i % 1000000 + 1)::text, 10, '0'),
       1000 + i * 37 % 90000, 'CNY', ARRAY['B' || i], s,
       CASE WHEN s = 'FAILED' THEN 'DECLINED' END, CASE WHEN s = 'SUCCEEDED' THEN 'R' || i END,
       CASE WHEN s = 'PROCESSING' THEN 'CONFIRMING' END, t,
       CASE WHEN s <> 'PROCESSING' THEN t END, 'bills'
  FROM generate_series(CAST(:first AS bigint), :last) i,
       LATERAL (SELECT CASE WHEN i % 5000 = 0 THEN 'PROCESSING' WHEN i % 40 = 0 THEN 'FAILED'
                            ELSE 'SUCCEEDED' END AS s,
                       CAST(:now AS timestamptz) - (i * 7919 % (366 * 86400)) * interval '1 second'
                           AS t) x,
       (SELECT CAST(:billers AS integer[]) AS b, CAST(:channels AS integer[]) AS c) ids
"""


@dataclass(frozen=True)
class HistoryBench:
    payments: int
    payers: int
    seed_seconds: float
    pages: list[Timing]  # first page, next page, first page by the service
    baselines: list[Timing]  # one payment by id, SELECT 1
    machine: dict[str, str]

    @property
    def fast_enough(self) -> bool:
        return all(page.percentile(95) < TARGET_P95_MS for page in self.pages)

    def as_json(self) -> dict[str, Any]:
        return {
            "payments": self.payments,
            "payers": self.payers,
            "seed_seconds": round(self.seed_seconds, 1),
            "pages": [page.as_json() for page in self.pages],
            "baselines": [baseline.as_json() for baseline in self.baselines],
            "target_p95_ms": TARGET_P95_MS,
            "fast_enough": self.fast_enough,
            "machine": self.machine,
        }


@dataclass(frozen=True, slots=True)
class _Seeded:
    channels: dict[str, int]  # code -> id
    billers: dict[int, str]  # id -> code
    payment_id: str  # one payment of WECHAT, for the baseline


async def _seed(engine: AsyncEngine, payments: int, payers: int, now: datetime) -> _Seeded:
    clock = FrozenClock(now)
    async with engine.begin() as conn:
        channels = {
            code: (await channels_service.add_channel(
                conn, clock, code=code, secret=_secret(code), actor="bench"
            )).id
            for code in CHANNELS
        }  # fmt: skip
        billers = {
            (await billers_service.add_biller(
                conn, clock, code=code, name=code, category=category,
                mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
            )).id: code
            for code, category in BILLERS
        }  # fmt: skip
    ids = {"billers": list(billers), "channels": list(channels.values()), "payers": payers,
           "now": now}  # fmt: skip
    async with without_secondary_indexes(engine, ("payments",)):
        for first in range(1, payments + 1, CHUNK):
            async with engine.begin() as conn:
                await tune_for_load(conn)
                last = min(first + CHUNK - 1, payments)
                await conn.execute(text(_PAYMENTS), {**ids, "first": first, "last": last})
    await engine.dispose()  # the timed requests get sessions without the load's settings
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE payments"))
        one = text("SELECT id FROM payments WHERE channel_id = :c LIMIT 1")
        payment_id = (await conn.execute(one, {"c": channels["WECHAT"]})).scalar_one()
    return _Seeded(channels, billers, payment_id)


def _secret(code: str) -> str:
    return f"bench-{code}-secret-0123456789"


def _payers(payers: int) -> Iterator[tuple[str, str]]:
    """Random payers, each with its home channel, for ever (the same for a size)."""
    pick = random.Random(SEED)  # noqa: S311 (a benchmark's sample, not a secret)
    while True:
        p = pick.randrange(payers)
        yield f"payer-{p}", CHANNELS[p % len(CHANNELS)]


class _Pages:
    """Signed requests of random payers' pages, as each channel."""

    def __init__(self, http: httpx.AsyncClient, payers: int) -> None:
        self.clients = {code: ChannelClient(http, code, _secret(code)) for code in CHANNELS}
        self.payers = _payers(payers)

    async def get(self, channel: str, path: str, params: dict[str, str] | None = None) -> Any:
        response = await self.clients[channel].call("GET", path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text}")
        return response.json()

    async def first_page(self) -> None:
        payer, channel = next(self.payers)
        await self.get(channel, "/v1/payments", {"payer": payer})


async def _next_pages(pages: _Pages, requests: int) -> Timing:
    """The page after the first for ``requests`` random payers with more than one page."""
    cursors: list[tuple[str, str, str]] = []
    for _ in range(50 * (requests + WARM_UP)):
        if len(cursors) == requests + WARM_UP:
            break
        payer, channel = next(pages.payers)
        first = await pages.get(channel, "/v1/payments", {"payer": payer})
        if first["next_cursor"] is not None:
            cursors.append((payer, channel, first["next_cursor"]))
    if len(cursors) < requests + WARM_UP:
        raise RuntimeError("too few payers have a second page: give fewer --payers")
    queued = iter(cursors)

    async def once() -> None:
        payer, channel, cursor = next(queued)
        await pages.get(channel, "/v1/payments", {"payer": payer, "cursor": cursor})

    return await time_requests("next page (HTTP)", requests, once)


async def _measure(
    url: URL, engine: AsyncEngine, seeded: _Seeded, payers: int, requests: int
) -> tuple[list[Timing], list[Timing]]:
    with ServerThread(create_app(url=url)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            pages = _Pages(http, payers)
            first = await time_requests("first page (HTTP)", requests, pages.first_page)
            following = await _next_pages(pages, requests)
            path = f"/v1/payments/{seeded.payment_id}"
            by_id = await time_requests(
                "one payment by id (HTTP)", requests, lambda: pages.get("WECHAT", path)
            )
    service = await time_requests(
        "first page (service)", requests, _by_service(engine, seeded, payers)
    )
    return [first, following, service], [
        by_id,
        await time_requests("SELECT 1", requests, select_one(engine)),
    ]


def _by_service(engine: AsyncEngine, seeded: _Seeded, payers: int) -> Callable[[], Awaitable[None]]:
    chosen = _payers(payers)
    span = history.span_of(None, None, business_date(datetime.now(UTC)))

    async def once() -> None:
        payer, channel = next(chosen)
        async with engine.begin() as conn:
            await history.payer_history(
                conn, seeded.channels[channel], seeded.billers.__getitem__, payer, span
            )

    return once


async def _run(
    settings: Settings, payments: int, payers: int, requests: int, say: Any
) -> HistoryBench:
    async with own_database(settings, DATABASE) as (url, engine):
        say(f"loading {payments:,} payments of {payers:,} payers …")
        started = time.perf_counter()
        seeded = await _seed(engine, payments, payers, datetime.now(UTC))
        seed_seconds = time.perf_counter() - started
        say(f"timing the history's pages, {requests} requests each …")
        pages, baselines = await _measure(url, engine, seeded, payers, requests)
        where = await machine_of(engine)
    return HistoryBench(
        payments=payments,
        payers=payers,
        seed_seconds=seed_seconds,
        pages=pages,
        baselines=baselines,
        machine=where,
    )


def run(
    settings: Settings, payments: int, payers: int, requests: int = 200, say: Any = print
) -> HistoryBench:
    return asyncio.run(_run(settings, payments, payers, requests, say))

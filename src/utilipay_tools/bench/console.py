"""``utilipay bench console``: how fast the console's pages answer with a million payments
and a million accounts.

A database of its own (``utilipay_bench_console``, rebuilt each run) gets N accounts and
P payments of four utilities by three channels, spread over the last 90 days (one in 40
failed, one in 5,000 still PROCESSING), written set-based (``INSERT … SELECT
generate_series``) through the payments' real triggers, then folded as the worker folds.
A hub serves it over HTTP (uvicorn, in a thread); an auditor signs in, and each
page of the list is fetched in turn, after a warm-up, with its p50/p95/p99.

The baselines, in the same run against the same server and database: a static file of the
console over the same signed-in HTTP client (what any page costs before it does work), and
``SELECT 1`` through the hub's driver (a database round trip). The ratios say what each
page costs over them.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.ledger.check import run_checks
from utilipay.payments.checks import CHECKS
from utilipay.runtime.install import upgrade
from utilipay.staff import service as users
from utilipay.staff.roles import Role
from utilipay.web.app import create_app
from utilipay.web.server import ServerThread
from utilipay_tools.bench.payments import machine

DATABASE = "utilipay_bench_console"
PAGES = ("/console/dashboard",)
STATIC = "/console/static/console.css"
TARGET_P95_MS = 300.0
USER = "bench-auditor"  # reads every page, the account page included
PASSWORD = "bench console password"  # noqa: S105 (a throwaway database)
CHANNELS = ("WECHAT", "ALIPAY", "UNIONPAY")
BILLERS = (("BENCHWATER", Category.WATER), ("BENCHPOWER", Category.ELECTRICITY),
           ("BENCHGAS", Category.GAS), ("BENCHHEAT", Category.HEATING))  # fmt: skip
WARM_UP = 5

_ACCOUNTS = """
INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)
SELECT (CAST(:billers AS integer[]))[1 + i % cardinality(CAST(:billers AS integer[]))],
       lpad(i::text, 10, '0'), '测试', :now
  FROM generate_series(1, :n) i
"""
# one statement, so the rollup's trigger counts a million payments once
_PAYMENTS = """
WITH made AS (
    SELECT i, 'P' || lpad(i::text, 12, '0') AS id, 'O' || i AS order_id,
           (CAST(:billers AS integer[]))[1 + i % cardinality(CAST(:billers AS integer[]))]
               AS biller_id,
           (CAST(:channels AS integer[]))[1 + i / 7 % cardinality(CAST(:channels AS integer[]))]
               AS channel_id,
           CASE WHEN i % 5000 = 0 THEN 'PROCESSING' WHEN i % 40 = 0 THEN 'FAILED'
                ELSE 'SUCCEEDED' END AS status,
           CAST(:now AS timestamptz) - (i % 90) * interval '1 day'
               - (i::bigint * 7919 % 86400) * interval '1 second' AS created_at
      FROM generate_series(1, :n) i
), orders AS (
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    SELECT channel_id, order_id, biller_id, id FROM made
)
INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                      amount, currency, bill_nos, status, failure_code, receipt_no,
                      resolution, created_at, finished_at, purpose)
SELECT biller_id, id, channel_id, order_id, '\\x00', 'payer-' || i % 100000,
       lpad((i % :accounts + 1)::text, 10, '0'), 1000 + i * 37 % 90000, 'CNY',
       ARRAY['B' || i], status, CASE WHEN status = 'FAILED' THEN 'DECLINED' END,
       CASE WHEN status = 'SUCCEEDED' THEN 'R' || i END,
       CASE WHEN status = 'PROCESSING' THEN 'CONFIRMING' END, created_at,
       CASE WHEN status <> 'PROCESSING' THEN created_at END, 'bills'
  FROM made
"""


@dataclass(frozen=True, slots=True)
class Timing:
    """Sequential requests of one page (or baseline): milliseconds."""

    name: str
    samples: list[float]

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[p - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": len(self.samples),
            **{f"p{p}_ms": round(self.percentile(p), 2) for p in (50, 95, 99)},
        }


@dataclass(frozen=True)
class ConsoleBench:
    payments: int
    accounts: int
    seed_seconds: float
    rollup_matches: bool
    recount_seconds: float  # every payment aggregated, as the dashboard would without it
    pages: list[Timing]
    static: Timing
    select_one: Timing
    machine: dict[str, str]

    def ratio(self, page: Timing, baseline: Timing, p: int = 95) -> float:
        return page.percentile(p) / baseline.percentile(p)

    @property
    def fast_enough(self) -> bool:
        return all(page.percentile(95) < TARGET_P95_MS for page in self.pages)

    def as_json(self) -> dict[str, Any]:
        return {
            "payments": self.payments,
            "accounts": self.accounts,
            "seed_seconds": round(self.seed_seconds, 1),
            "rollup_equals_recount": self.rollup_matches,
            "recount_seconds": round(self.recount_seconds, 2),
            "pages": [
                {
                    **page.as_json(),
                    "p95_over_static": round(self.ratio(page, self.static), 1),
                    "p95_over_select_1": round(self.ratio(page, self.select_one), 1),
                }
                for page in self.pages
            ],
            "baselines": [self.static.as_json(), self.select_one.as_json()],
            "target_p95_ms": TARGET_P95_MS,
            "fast_enough": self.fast_enough,
            "machine": self.machine,
        }


async def _seed(engine: AsyncEngine, payments: int, accounts: int, now: datetime) -> None:
    clock = FrozenClock(now)
    async with engine.begin() as conn:
        channels = [
            await channels_service.add_channel(
                conn, clock, code=code, secret=f"bench-{code}-secret-0123456789", actor="bench"
            )
            for code in CHANNELS
        ]
        billers = []
        for code, category in BILLERS:
            biller = await billers_service.add_biller(
                conn, clock, code=code, name=code, category=category,
                mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
            )  # fmt: skip
            billers.append(biller)
        await users.create_user(
            conn, clock, username=USER, password=PASSWORD, role=Role.AUDITOR,
            biller_id=None, actor="bench",
        )  # fmt: skip
        ids = {"billers": [b.id for b in billers], "channels": [c.id for c in channels]}
        await conn.execute(text(_ACCOUNTS), {"billers": ids["billers"], "n": accounts, "now": now})
        values = {**ids, "n": payments, "accounts": accounts, "now": now}
        await conn.execute(text(_PAYMENTS), values)
    async with engine.begin() as conn:  # as the worker does, a second after
        await conn.execute(text("SELECT payment_rollups_fold()"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def _rollup_matches(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        results = await run_checks(conn, CHECKS)
    return all(result.passed for result in results)


async def _sign_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF field")
    answer = await client.post(
        "/console/sign-in",
        data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if answer.status_code != 303 or "sign-in" in answer.headers.get("location", ""):
        raise RuntimeError(f"signing in failed: {answer.status_code}")


async def time_requests(name: str, requests: int, once: Callable[[], Awaitable[None]]) -> Timing:
    for _ in range(WARM_UP):
        await once()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(name, samples)


def _get(client: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[None]]:
    async def once() -> None:
        response = await client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")

    return once


async def _measure(
    url: URL, engine: AsyncEngine, pages: list[str], requests: int
) -> tuple[list[Timing], Timing, Timing]:
    with ServerThread(create_app(url=url)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            await _sign_in(client)
            timed = [await time_requests(page, requests, _get(client, page)) for page in pages]
            static = await time_requests("static file", requests, _get(client, STATIC))
    return timed, static, await time_requests("SELECT 1", requests, select_one(engine))


def select_one(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    """A database round trip through the hub's driver: the baseline of a request's cost."""

    async def once() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return once


@asynccontextmanager
async def own_database(settings: Settings, name: str) -> AsyncIterator[tuple[URL, AsyncEngine]]:
    """A database of the benchmark's own, built by the migrations, dropped after the run."""
    url = database_url(settings, database=name)
    await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=2)
    try:
        yield url, engine
    finally:
        await engine.dispose()
    await drop_database(url)


async def machine_of(engine: AsyncEngine) -> dict[str, str]:
    """The machine, and the PostgreSQL serving ``engine``."""
    async with engine.connect() as conn:
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    return {**machine(), "postgresql": str(version)}


async def _run(
    settings: Settings, payments: int, accounts: int, pages: list[str], requests: int, say: Any
) -> ConsoleBench:
    async with own_database(settings, DATABASE) as (url, engine):
        say(f"loading {payments:,} payments and {accounts:,} accounts …")
        started = time.perf_counter()
        await _seed(engine, payments, accounts, datetime.now(UTC))
        seeded = time.perf_counter() - started
        say("checking the rollup against a recount of the payments …")
        started = time.perf_counter()
        matches = await _rollup_matches(engine)
        recounted = time.perf_counter() - started
        say(f"timing {', '.join(pages)} over HTTP, {requests} requests each …")
        timed, static, select_once = await _measure(url, engine, pages, requests)
        where = await machine_of(engine)
    return ConsoleBench(
        payments=payments,
        accounts=accounts,
        seed_seconds=seeded,
        rollup_matches=matches,
        recount_seconds=recounted,
        pages=timed,
        static=static,
        select_one=select_once,
        machine=where,
    )


def run(
    settings: Settings,
    payments: int,
    accounts: int,
    pages: list[str],
    requests: int = 200,
    say: Any = print,
) -> ConsoleBench:
    return asyncio.run(_run(settings, payments, accounts, pages, requests, say))

"""``utilipay bench pages``: the payer pages' server time (issue 14: bills, history, usage
chart under 50 ms at p95 with 1 M accounts and 10 M payments).

The data is ``bench collection``'s year of N accounts (``collection_data.generate``: at 1 M,
12 M bills and about 11 M payments of every kind of channel), in a database of this
command's own, and on top of it what the pages read that the year does not hold: each
account bound at WECHAT by its payer (``u`` and its number, the payer of its payments) and
verified, one payer in five binding a second account (a parent's home), and a year of
settled days for each prepaid account (one day in twenty has no reading, so the chart has
gaps).

The pages are asked through the hub's ASGI app in this process (no socket, no second
thread: what is timed is the server's work for the request, the session's lookup
included), one request at a time after a warm-up, each for a random payer of a sample
with its own session: my accounts (every bound account's bills), an account's bills, the
payment history and the 30-day usage chart. Baselines of the same run: the pages' style
sheet through the same app (what any request costs before it does work) and ``SELECT 1``
through the hub's driver.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import FrozenClock, business_date
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.h5 import store
from utilipay.h5.store import Session
from utilipay.h5.visits import SESSION_COOKIE
from utilipay.runtime.directory import Directory
from utilipay.runtime.install import upgrade
from utilipay.web.app import create_app
from utilipay.web.hub import Hub
from utilipay_tools.bench import collection_data
from utilipay_tools.bench.console import Timing, machine_of, select_one, time_requests

DATABASE = "utilipay_bench_pages"
TARGET_P95_MS = 50.0
STYLE_SHEET = "/h5/static/h5.css"
SEED = 14
SAMPLE = 500  # payers with a session, asked in random order

# every account bound by its payer at WECHAT and verified; one payer in five also binds
# the next account
_BINDINGS = """
INSERT INTO bindings (biller_id, id, channel_id, payer, account_no, holder, created_at,
                      verified_at)
SELECT (CAST(:branches AS integer[]))[1 + a % :regions], 'BD' || i || '-' || a, :wechat,
       'u' || i, lpad(a::text, 10, '0'), '测试', :opened, :opened
  FROM generate_series(1, :n) i
 CROSS JOIN LATERAL (SELECT i AS a UNION ALL
                     SELECT i + 1 WHERE i % 5 = 1 AND i < :n) bound
"""
# a year of settled days for each prepaid account; one day in twenty has no reading
_DAYS = """
INSERT INTO prepaid_accruals (biller_id, account_no, day, tariff_version, usage, peak, flat,
                              valley, band_usage, exact_charge, posted, balance_after)
SELECT (CAST(:branches AS integer[]))[1 + i % :regions], lpad(i::text, 10, '0'),
       CAST(:first AS date) + k, 1, u, u * 0.3, u * 0.4, u * 0.3, u, u * 0.56, round(u * 56),
       20000 - k * 50
  FROM generate_series(100, :n, 100) i, generate_series(0, :days - 1) k,
       LATERAL (SELECT (abs(hashint8(i * 1000 + k)) % 200) / 10.0 AS u) x
 WHERE abs(hashint8(i * 7 + k)) % 20 <> 0
"""


@dataclass(frozen=True, slots=True)
class Sampled:
    """A sample payer's way in and what the pages need of it."""

    cookie: str
    binding: str  # a binding of the payer's: its bills, or its usage chart


@dataclass(frozen=True)
class PagesBench:
    accounts: int
    rows: dict[str, int]
    generate_seconds: float | None  # None: a kept database was used again
    pages: list[Timing]
    baselines: list[Timing]
    machine: dict[str, str]

    @property
    def fast_enough(self) -> bool:
        return all(page.percentile(95) < TARGET_P95_MS for page in self.pages)

    def as_json(self) -> dict[str, Any]:
        style, round_trip = self.baselines
        return {
            "accounts": self.accounts,
            "rows": self.rows,
            "generate_seconds": None
            if self.generate_seconds is None
            else round(self.generate_seconds, 1),
            "pages": [
                {
                    **page.as_json(),
                    "p95_over_style_sheet": round(page.percentile(95) / style.percentile(95), 1),
                    "p95_over_select_1": round(page.percentile(95) / round_trip.percentile(95), 1),
                }
                for page in self.pages
            ],
            "baselines": [b.as_json() for b in self.baselines],
            "target_p95_ms": TARGET_P95_MS,
            "fast_enough": self.fast_enough,
            "machine": self.machine,
        }


async def _extend(engine: AsyncEngine, generated: collection_data.Generated) -> None:
    """What the pages read that the year does not hold: bindings and settled days."""
    directory = generated.directory
    today = business_date(generated.as_of)
    values = {
        "branches": directory.branches, "regions": len(directory.branches),
        "wechat": directory.channels["WECHAT"], "n": generated.accounts,
        "opened": generated.as_of - timedelta(days=400),
        "first": today - timedelta(days=366), "days": 366,
    }  # fmt: skip
    async with engine.begin() as conn:
        # the rows refer to accounts and billers the year made: no key to check again
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(_BINDINGS), values)
        await conn.execute(text(_DAYS), values)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE bindings, prepaid_accruals"))


async def _kept(engine: AsyncEngine, accounts: int) -> bool:
    """Whether the database already holds this size's data (a run with ``keep``)."""
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("SELECT count(*) FROM customer_accounts"))
            bound = await conn.scalar(text("SELECT EXISTS (SELECT FROM bindings)"))
    except DBAPIError:  # no such database, or not migrated: generate it
        return False
    return found == accounts and bool(bound)


async def _sessions(
    engine: AsyncEngine, clock: FrozenClock, accounts: int, prepaid: bool
) -> list[Sampled]:
    """``SAMPLE`` payers' sessions: of postpaid accounts, or of prepaid ones."""
    chosen = random.Random(SEED + prepaid)  # noqa: S311 (a repeatable sample, not a secret)
    numbers = [_prepaid(chosen, accounts) if prepaid else _postpaid(chosen, accounts)
               for _ in range(SAMPLE)]  # fmt: skip
    sampled = []
    async with engine.begin() as conn:
        for number in numbers:
            binding = await conn.scalar(
                text("SELECT id FROM bindings WHERE payer = :p AND account_no = :a"),
                {"p": f"u{number}", "a": f"{number:010d}"},
            )
            token = secrets.token_urlsafe(32)
            session = Session("WECHAT", f"u{number}", "csrf", clock.now() + timedelta(hours=2))
            await store.open_session(conn, token, session, clock.now())
            sampled.append(Sampled(token, str(binding)))
    return sampled


def _prepaid(chosen: random.Random, accounts: int) -> int:
    return 100 * chosen.randint(1, accounts // 100)  # one account in a hundred


def _postpaid(chosen: random.Random, accounts: int) -> int:
    number = chosen.randint(1, accounts)
    return number - 1 if number % 100 == 0 else number


def _page(
    client: httpx.AsyncClient, sample: list[Sampled], path: Callable[[Sampled], str]
) -> Callable[[], Awaitable[None]]:
    order = random.Random(SEED)  # noqa: S311 (a repeatable order, not a secret)

    async def once() -> None:
        payer = order.choice(sample)
        where = path(payer)
        answer = await client.get(where, headers={"Cookie": f"{SESSION_COOKIE}={payer.cookie}"})
        if answer.status_code != 200:
            raise RuntimeError(f"GET {where}: {answer.status_code}")

    return once


@asynccontextmanager
async def _pages_client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.bench") as client:
        yield client


async def _measure(
    engine: AsyncEngine, clock: FrozenClock, accounts: int, requests: int
) -> tuple[list[Timing], list[Timing]]:
    postpaid = await _sessions(engine, clock, accounts, prepaid=False)
    prepaid = await _sessions(engine, clock, accounts, prepaid=True)
    hub = Hub(engine=engine, clock=clock, directory=Directory(engine))
    await hub.directory.reload()
    try:
        async with _pages_client(hub) as client:
            pages = [
                await time_requests(name, requests, _page(client, sample, path))
                for name, sample, path in (
                    ("my accounts (each one's bills)", postpaid, lambda s: "/h5/"),
                    ("an account's bills", postpaid, lambda s: f"/h5/accounts/{s.binding}"),
                    ("payment history", postpaid, lambda s: "/h5/payments"),
                    ("usage chart, 30 days", prepaid, lambda s: f"/h5/prepaid/{s.binding}"),
                )
            ]
            style = await time_requests(
                "style sheet (baseline)", requests, _page(client, postpaid, lambda s: STYLE_SHEET)
            )
    finally:
        await hub.remote_billers.close()
    return pages, [style, await time_requests("SELECT 1 (baseline)", requests, select_one(engine))]


async def _run(
    settings: Settings, accounts: int, requests: int, keep: bool, step: collection_data.Step
) -> PagesBench:
    url = database_url(settings, database=DATABASE)
    engine = create_engine(url, pool_size=4)
    try:
        reused = keep and await _kept(engine, accounts)
        year, seconds = 2026, None
        if reused:  # kept by an older version of the hub: its later migrations
            await asyncio.to_thread(upgrade, url)
        else:
            await engine.dispose()
            await drop_database(url)
            await asyncio.to_thread(upgrade, url)
            generated = await collection_data.generate(engine, accounts, year, step)
            seconds = generated.seconds
            step("bindings and settled days")
            await _extend(engine, generated)
        clock = FrozenClock(collection_data.as_of(year))
        step("timing the pages")
        pages, baselines = await _measure(engine, clock, accounts, requests)
        rows = await _rows(engine)
        where = await machine_of(engine)
    finally:
        await engine.dispose()
        if not keep:
            await drop_database(url)
    return PagesBench(accounts, rows, seconds, pages, baselines, where)


async def _rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table: int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608 (fixed names)
            for table in ("customer_accounts", "bills", "payments", "bindings", "prepaid_accruals")
        }


def run(
    settings: Settings, accounts: int, requests: int, keep: bool, step: collection_data.Step
) -> PagesBench:
    return asyncio.run(_run(settings, accounts, requests, keep, step))

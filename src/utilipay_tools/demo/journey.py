"""``utilipay demo``: a customer's journey through the real HTTP API, step by step.

The hub runs on uvicorn against a fresh ``utilipay_demo`` database (embedded
PostgreSQL unless ``UTILIPAY_DATABASE_URL`` names a server); a channel client
signs every request exactly as a wallet app would.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from utilipay.clock import Clock, SystemClock, business_date, day_bounds
from utilipay.config import get_settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.ledger.service import balances
from utilipay.money import format_yuan
from utilipay.runtime.books import check_books
from utilipay.runtime.install import upgrade
from utilipay.runtime.sample import ACCOUNT, BILLER, CHANNEL, CHANNEL_SECRET, PAYER, seed
from utilipay.web.app import create_app
from utilipay.web.server import ServerThread
from utilipay_tools.client import ChannelClient
from utilipay_tools.demo import autopay, frontline, prepaid, recon, remote
from utilipay_tools.demo.console_people import DemoUser, add_console_people, show_console
from utilipay_tools.demo.payer_pages import show_payer_pages, wallet_pages
from utilipay_tools.demo.steps import Journey

DEMO_DATABASE = "utilipay_demo"
# The journey's payments take about 10 s on an idle machine; this is its time many times
# over, for a busy one. A journey that began closer to midnight in Shanghai would pay on
# two days, and its day end would reconcile and settle only the first day's part.
JOURNEY_MARGIN = timedelta(minutes=3)


def wait_for_one_day(now: datetime) -> timedelta:
    """How long the journey waits so all its payments fall on one business day: until
    midnight in Shanghai when that is nearer than ``JOURNEY_MARGIN``, else not at all."""
    _, midnight = day_bounds(business_date(now))
    left = midnight - now
    return left + timedelta(seconds=1) if left < JOURNEY_MARGIN else timedelta(0)


async def _one_business_day(console: Console, clock: Clock) -> None:
    wait = wait_for_one_day(clock.now())
    if wait:
        console.print(
            f"The journey waits {int(wait.total_seconds())} s for midnight in Shanghai, so"
            " that its payments fall on one day and its day end holds them all."
        )
        await asyncio.sleep(wait.total_seconds())


async def walk(base_url: str, console: Console, power: remote.Utility, url: Any) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        j = Journey(ChannelClient(http, CHANNEL, CHANNEL_SECRET), console)
        clock = SystemClock()
        await _one_business_day(console, clock)
        today = business_date(clock.now())
        await hosted_walk(j)
        await remote.walk(j, power, url, clock)
        await autopay.walk(j, url)
        await prepaid.walk(j, url)
        await frontline.walk(j, url)
        await recon.walk(j, url, today)


async def hosted_walk(j: Journey) -> None:
    await j.call(
        "The channel lists water utilities",
        "GET",
        "/v1/billers",
        params={"category": "water"},
        expect=200,
    )
    binding = {"payer": PAYER, "biller": BILLER, "account": ACCOUNT}
    await j.call(
        "The payer binds account (户号绑定) 0112345678",
        "POST",
        "/v1/bindings",
        json=binding,
        expect=201,
    )
    await j.call(
        "Binding it again returns the same binding",
        "POST",
        "/v1/bindings",
        json=binding,
        expect=200,
    )
    await j.call(
        "The payer proves the account is theirs with the holder's name (§13): the same "
        'binding, now "verified" (what a prepaid view and auto-pay need)',
        "POST",
        "/v1/bindings",
        json=binding | {"verification": {"holder_name": "张三"}},
        expect=200,
    )
    bills = await j.call(
        "Query the bills (查询缴费单)",
        "GET",
        "/v1/bills",
        params={"biller": BILLER, "account": ACCOUNT},
        expect=200,
    )
    order = {
        "order_id": "WX20261122000123",
        "biller": BILLER,
        "account": ACCOUNT,
        "amount": bills["total"],
        "payer": PAYER,
    }
    paid = await j.call(
        "Pay everything due (缴费); the hub writes the bills off (销账)",
        "POST",
        "/v1/payments",
        json=order,
        expect=201,
    )
    again = await j.call(
        "The channel retries the same order: the same receipt, no second payment",
        "POST",
        "/v1/payments",
        json=order,
        expect=200,
    )
    if again["receipt_no"] != paid["receipt_no"]:
        raise SystemExit("the retried order got a different receipt")
    await j.call(
        "Same order id, different amount: refused",
        "POST",
        "/v1/payments",
        json={**order, "amount": 100},
        expect=409,
    )
    await j.call(
        "Another order for the paid bills: refused",
        "POST",
        "/v1/payments",
        json={**order, "order_id": "WX20261122000999", "bill_nos": paid["bill_nos"]},
        expect=409,
    )
    await j.call(
        "Nothing is due any more",
        "GET",
        "/v1/bills",
        params={"biller": BILLER, "account": ACCOUNT},
        expect=200,
    )
    await j.call(
        "The e-receipt (电子凭证), looked up by order id",
        "GET",
        "/v1/payments",
        params={"order_id": order["order_id"]},
        expect=200,
    )
    forged = j.client.build("GET", "/v1/billers")
    forged.headers["X-Utilipay-Signature"] = "0" * 64
    await j.call(
        "A request with a forged signature", "GET", "/v1/billers", request=forged, expect=401
    )
    replay = j.client.build("GET", "/v1/billers")
    await j.client.send(replay)
    await j.call(
        "A replayed request (same nonce)", "GET", "/v1/billers", request=replay, expect=401
    )
    await j.call(
        "An amount as a float",
        "POST",
        "/v1/payments",
        json={**order, "order_id": "WX-FLOAT", "amount": 123.45},
        expect=400,
    )
    await j.call(
        "An account that fails the utility's rule",
        "POST",
        "/v1/payments",
        json={**order, "order_id": "WX-BAD", "account": "12345"},
        expect=422,
    )


async def show_books(url: Any, console: Console) -> bool:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        table = Table("ledger account", "balance (fen)", "yuan", title="\nLedger balances")
        for b in await balances(conn):
            table.add_row(b.code, str(b.balance), format_yuan(b.balance))
        results = await check_books(conn)
    await engine.dispose()
    console.print(table)
    for r in results:
        mark = "[green]ok[/green]" if r.passed else "[red]FAILED[/red]"
        console.print(f"{mark}  {r.check.description}")
    return all(r.passed for r in results)


async def _console_people(url: Any, clock: SystemClock) -> list[DemoUser]:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        people = await add_console_people(conn, clock)
    await engine.dispose()
    return people


def _serve_until_interrupted(console: Console) -> None:
    console.print("The hub keeps serving; Ctrl-C stops it.")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping the hub")


def run_demo(console: Console | None = None, *, keep_running: bool = False) -> bool:
    """The journey, the books, and the console's address with a demo user per role;
    ``keep_running`` leaves the hub (and the simulated utility) serving until Ctrl-C."""
    console = console or Console()
    clock = SystemClock()
    url = database_url(get_settings(), database=DEMO_DATABASE)
    with console.status("preparing a fresh demo database"):
        asyncio.run(drop_database(url))
        upgrade(url)
    with remote.utility(url, clock) as power:

        async def seed_demo() -> None:
            engine = create_engine(url, pool_size=1)
            async with engine.begin() as conn:
                await seed(conn, clock)
                await remote.register(conn, clock, power.url)
            await engine.dispose()

        asyncio.run(seed_demo())
        console.print(f"[bold]{remote.BILLER}[/bold], a remote utility, serving on {power.url}")
        with ServerThread(create_app(url=url)) as base_url:
            console.print(
                f"[bold]utilipay hub[/bold] serving on {base_url} (database {url.database})"
            )
            asyncio.run(walk(base_url, console, power, url))
            books_balance = asyncio.run(show_books(url, console))
            show_console(console, base_url, asyncio.run(_console_people(url, clock)))
            with wallet_pages(url, base_url) as open_url:
                show_payer_pages(console, open_url)
                if keep_running:
                    _serve_until_interrupted(console)
                else:
                    console.print("The hub stops now: `--keep-running` leaves it serving.")
    return books_balance

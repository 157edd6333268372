"""The float never goes below zero, whatever races (issue 12): many terminals of one outlet
pay at once over real HTTP, against a served hub, for more than the float covers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import _settings
from tests.helpers import bill_line, import_bills, payment_body
from tests.outlets.rows import TERMINAL_SECRET, add_outlet, add_terminal, deposit
from tests.prepaid.test_prepaid_topup import books_hold
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock, SystemClock
from utilipay.web.server import free_port
from utilipay_tools.client import TerminalClient
from utilipay_tools.processes import environment_for, start_api

TERMINALS = 20
EACH = 10  # payments per terminal
AMOUNTS = [1000 + 100 * (n % 7) for n in range(TERMINALS * EACH)]  # 10 to 16 yuan
DEPOSITED = sum(AMOUNTS) * 3 // 5  # covers about 60 % of them


def account(n: int) -> str:
    return f"01{n:08d}"


@pytest.fixture
async def outlet(engine: AsyncEngine, clock: FrozenClock, world: Any) -> tuple[int, list[str]]:
    """SHOP1 of WECHAT with 20 terminals and its float; a bill for each of 200 households."""
    channel = world["wechat"]
    assert isinstance(channel, Channel)
    await import_bills(
        engine, clock,
        *(bill_line(f"B-{n}", account=account(n), amount=a, due="2027-01-31")
          for n, a in enumerate(AMOUNTS)),
    )  # fmt: skip
    async with engine.begin() as conn:
        outlet_id = await add_outlet(conn, clock, channel)
        terminals = [await add_terminal(conn, clock, outlet_id) for _ in range(TERMINALS)]
        await deposit(conn, clock, outlet_id, DEPOSITED)
    return outlet_id, terminals


@pytest.fixture
async def served(db_url: URL, outlet: tuple[int, list[str]]) -> AsyncIterator[str]:
    """The hub in a uvicorn process of its own, as ``utilipay serve`` runs it."""
    port = free_port()
    server = start_api(environment_for(_settings(), db_url), port, workers=1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


async def terminal_pays(url: str, terminal_id: str, first: int) -> dict[int, httpx.Response]:
    """One terminal, its own connection, its payments all sent at once."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        client = TerminalClient(http, "WECHAT", terminal_id, TERMINAL_SECRET, SystemClock())
        bodies = [
            payment_body(f"ORDER-{n}", account=account(n), amount=AMOUNTS[n], bill_nos=[f"B-{n}"])
            for n in range(first, first + EACH)
        ]
        sent = (client.call("POST", "/v1/payments", json=b) for b in bodies)
        return dict(enumerate(await asyncio.gather(*sent), start=first))


async def test_concurrent_terminals_of_one_outlet_never_overdraw_its_float(
    served: str, outlet: tuple[int, list[str]], engine: AsyncEngine
) -> None:
    outlet_id, terminals = outlet
    answers = await asyncio.gather(
        *(terminal_pays(served, t, i * EACH) for i, t in enumerate(terminals))
    )
    by_order = {n: r for batch in answers for n, r in batch.items()}
    outcome = Counter((r.status_code, r.json().get("code") or r.json()["status"])
                      for r in by_order.values())  # fmt: skip
    assert len(by_order) == TERMINALS * EACH  # every order answered
    assert set(outcome) <= {(201, "SUCCEEDED"), (409, "FLOAT_INSUFFICIENT")}, outcome
    paid = {n for n, r in by_order.items() if r.status_code == 201}
    async with engine.connect() as conn:
        balance, held = (
            await conn.execute(
                text("SELECT balance, held FROM outlet_floats WHERE outlet_id = :id"),
                {"id": outlet_id},
            )
        ).one()
        found = await conn.execute(text("SELECT order_id, amount FROM payments"))
        stored = {row.order_id: row.amount for row in found}
    assert balance >= 0 and held == 0
    assert sum(AMOUNTS[n] for n in paid) == DEPOSITED - balance
    assert stored == {f"ORDER-{n}": AMOUNTS[n] for n in paid}  # nothing lost, nothing extra
    # the float only fell: each refusal was for more than what is left now
    assert all(AMOUNTS[n] > balance for n in by_order.keys() - paid)
    assert outcome[(409, "FLOAT_INSUFFICIENT")] > 0 and len(paid) > TERMINALS * EACH // 2
    await books_hold(engine)

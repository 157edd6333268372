"""The transaction policy (docs/transactions.md), checked on the source: units never end a
transaction, nothing holds one across a network call, and the doc lists every site."""

from __future__ import annotations

from tests.transaction_sites import documented, parse, sites, table, violations

# A tiny package that breaks each rule once, next to a workflow that keeps them all.
BROKEN = {
    "common.outgoing": "async def exchange(http, request): ...\n",
    "shop.service": """
from sqlalchemy.ext.asyncio import AsyncConnection
from utilipay.common import outgoing

async def pay(conn: AsyncConnection, order) -> None:
    await conn.execute(order)
    await conn.commit()

async def book(conn: AsyncConnection) -> None:
    async with conn.begin():
        await conn.execute("x")

async def save(conn: AsyncConnection) -> None:
    async with conn.begin_nested():
        await conn.execute("x")

async def tell(conn: AsyncConnection, http) -> None:
    await outgoing.exchange(http, None)
""",
    "shop.flow": """
from sqlalchemy.ext.asyncio import AsyncEngine
from utilipay.common.outgoing import exchange
from utilipay.shop import service

class Gateway:
    async def ask(self, http):
        return await exchange(http, None)

async def charge(engine: AsyncEngine, gateway: Gateway, http) -> None:
    async with engine.begin() as conn:
        await gateway.ask(http)

async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar("count")

async def nested(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await count(engine)

async def kept(engine: AsyncEngine, gateway: Gateway, http) -> None:
    async with engine.connect() as conn:
        order = await conn.execute("due")
    answer = await gateway.ask(http)
    async with engine.begin() as conn:
        await service.save(conn)
""",
}


def test_the_source_keeps_the_policy() -> None:
    assert violations() == []


def test_every_site_is_classified_and_the_doc_lists_them_all() -> None:
    listed = sites()
    assert [s for s in listed if s.kind == "unclassified"] == []
    assert documented() == table(listed), "run: .venv/bin/python -m tests.transaction_sites"


def test_each_broken_rule_is_found() -> None:
    """The checks above can fail: each rule broken once is named, the kept workflow not."""
    assert sorted(violations(parse(BROKEN))) == [
        "shop.flow.charge holds a connection across gateway.ask(), a network call",
        "shop.flow.nested opens another transaction inside one, in count()",
        "shop.service.book takes a connection, yet opens conn.begin",
        "shop.service.pay calls .commit(): the block ends it",
        "shop.service.tell takes a connection, yet awaits outgoing.exchange(), a network call",
    ]
    kinds = {(s.module, s.function): s.kind for s in sites(parse(BROKEN))}
    assert kinds == {
        ("shop.flow", "charge"): "workflow",
        ("shop.flow", "count"): "workflow",
        ("shop.flow", "kept"): "workflow",
        ("shop.flow", "nested"): "workflow",
        ("shop.service", "book"): "unclassified",
        ("shop.service", "save"): "unit",
    }

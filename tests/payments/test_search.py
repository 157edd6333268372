"""Finding payments for people (``payments.search``): newest first, a page at a time by a
cursor that holds however many payments arrive meanwhile, within a person's utilities;
and every way of searching reads an index, proved by the plans PostgreSQL makes for a
table of realistic size and statistics."""

from __future__ import annotations

import statistics
import time
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import channel, water
from tests.recon.test_recon_run import D, at, payment
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.payments import search
from utilipay.payments.schemas import PaymentStatus
from utilipay.payments.search import PaymentFilter


async def test_pages_newest_first_and_a_cursor_holds_while_payments_arrive(
    conn: AsyncConnection, world: dict[str, object]
) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    for n in range(5):
        await payment(conn, b, wx, f"W-{n}", 100 + n, finished=at(D, f"09:0{n}"))
    first = await search.search(conn, PaymentFilter(), limit=2)
    assert [p.order_id for p in first.payments] == ["W-4", "W-3"]
    assert first.payments[0].biller == "BJWATER" and first.payments[0].channel == "WECHAT"
    await payment(conn, b, wx, "W-NEW", 700, finished=at(D, "10:00"))  # arrives meanwhile
    second = await search.search(conn, PaymentFilter(), cursor=first.next_cursor, limit=2)
    assert [p.order_id for p in second.payments] == ["W-2", "W-1"]
    last = await search.search(conn, PaymentFilter(), cursor=second.next_cursor, limit=2)
    assert ([p.order_id for p in last.payments], last.next_cursor) == (["W-0"], None)
    with pytest.raises(DomainError, match="cursor is not one a previous page gave"):
        await search.search(conn, PaymentFilter(), cursor="not-a-cursor")


async def test_business_dates_are_shanghai_days_and_scope_limits_to_utilities(
    conn: AsyncConnection, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    other = await billers_service.add_biller(
        conn, clock, code="SHGAS", name="上海燃气", category=Category.GAS,
        mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
    )  # fmt: skip
    await payment(conn, b, wx, "LATE-21", 100, finished=at(date(2026, 11, 21), "23:59"))
    await payment(conn, b, wx, "EARLY-22", 200, finished=at(D, "00:01"))  # 16:01 UTC the 21st
    await payment(conn, other.id, wx, "GAS-22", 300, finished=at(D, "12:00"))

    async def found(**wanted: Any) -> list[str]:
        page = await search.search(conn, PaymentFilter(**wanted))
        return [p.order_id for p in page.payments]

    assert await found(since=D, until=D) == ["GAS-22", "EARLY-22"]
    assert await found(until=date(2026, 11, 21)) == ["LATE-21"]
    assert await found(billers=frozenset({b})) == ["EARLY-22", "LATE-21"]
    assert await found(billers=frozenset({b}), biller_id=other.id) == []
    assert await found(billers=frozenset()) == []
    assert await found(status=PaymentStatus.SUCCEEDED, account_no="0112345678") == [
        "GAS-22", "EARLY-22", "LATE-21"
    ]  # fmt: skip


# --- every search reads an index ----------------------------------------------------------

ROWS = 60_000
FILL = text(
    """
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, currency, bill_nos, status, failure_code, receipt_no,
                          created_at, finished_at, resolution, check_attempts, refund_attempts,
                          purpose)
    SELECT b.ids[1 + n % array_length(b.ids, 1)], 'P' || lpad(n::text, 12, '0'),
           c.ids[1 + (n / 7) % array_length(c.ids, 1)], 'O' || n, '\\x00',
           'payer-' || n % 20000,
           lpad((n % 25000)::text, 10, '0'), 100 + n % 9000, 'CNY', ARRAY['B' || n],
           s.status, CASE WHEN s.status = 'FAILED' THEN 'BILLER_FAILED' END,
           CASE WHEN s.status = 'SUCCEEDED' THEN 'R' || lpad(n::text, 18, '0') END,
           CAST(:start AS timestamptz) + n * interval '2 minutes',
           CASE WHEN s.status <> 'PROCESSING'
                THEN CAST(:start AS timestamptz) + n * interval '2 minutes' END,
           CASE WHEN s.status = 'PROCESSING' THEN 'CONFIRMING' END, 0, 0, 'bills'
      FROM generate_series(1, :rows) AS n,
           LATERAL (SELECT CASE WHEN n % 50 = 0 THEN 'FAILED' WHEN n % 97 = 0 THEN 'PROCESSING'
                                ELSE 'SUCCEEDED' END AS status) AS s,
           (SELECT array_agg(id ORDER BY id) AS ids FROM billers) AS b,
           (SELECT array_agg(id ORDER BY id) AS ids FROM channels) AS c
    """
)


async def scans_of_payments(conn: AsyncConnection, wanted: PaymentFilter, **page: Any) -> set[str]:
    """The kinds of node that read ``payments`` in the plan of the search's page."""
    query = search.page_query(wanted, page.get("cursor"), 50)
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, params)).scalar()
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == "payments":
            found.add(node["Node Type"])
        for child in node.get("Plans", []):
            walk(child)

    assert isinstance(plan, list)  # asyncpg decodes EXPLAIN's json
    walk(plan[0]["Plan"])
    return found


async def fill(engine: AsyncEngine, clock: FrozenClock, rows: int) -> list[int]:
    """``rows`` payments, two minutes apart from September on, at five utilities and two
    channels, analysed; the ids of the utilities."""
    async with engine.begin() as conn:
        for code in ("SHGAS", "SHPOWER", "GZWATER", "SZPOWER"):
            await billers_service.add_biller(
                conn, clock, code=code, name=code, category=Category.GAS,
                mode=IntegrationMode.HOSTED, account_rule=r"[0-9]{10}", actor="test",
            )  # fmt: skip
        await conn.execute(FILL, {"rows": rows, "start": at(date(2026, 9, 1), "00:00")})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE payments"))
        ids = await conn.execute(text("SELECT id FROM billers ORDER BY id"))
        return list(ids.scalars())


def ways(utilities: list[int], water_id: int, wechat_id: int) -> dict[str, PaymentFilter]:
    """Each way a person searches, alone and with others, in and out of a scope."""
    day = date(2026, 10, 15)
    return {
        "newest first": PaymentFilter(),
        "order id": PaymentFilter(order_id="O4242"),
        "receipt": PaymentFilter(receipt_no="R" + "4241".zfill(18)),
        "account": PaymentFilter(account_no="0000004242"),
        "payer": PaymentFilter(payer="payer-4242"),
        "channel": PaymentFilter(channel_id=wechat_id),
        "utility": PaymentFilter(biller_id=water_id),
        "failed": PaymentFilter(status=PaymentStatus.FAILED),
        "processing at a channel": PaymentFilter(
            status=PaymentStatus.PROCESSING, channel_id=wechat_id
        ),
        "succeeded": PaymentFilter(status=PaymentStatus.SUCCEEDED),
        "a business day": PaymentFilter(since=day, until=day),
        "a day at a utility": PaymentFilter(since=day, until=day, biller_id=water_id),
        "scoped to two utilities": PaymentFilter(billers=frozenset(utilities[:2])),
        "scoped account": PaymentFilter(account_no="0000004242", billers=frozenset(utilities[:2])),
    }


async def test_every_way_of_searching_reads_an_index(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    utilities = await fill(engine, clock, ROWS)
    indexed = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    async with engine.connect() as conn:
        first = await search.search(conn, PaymentFilter(), limit=50)
        assert len(first.payments) == 50 and first.next_cursor is not None
        for way, wanted in ways(utilities, water(world).id, channel(world, "wechat").id).items():
            scans = await scans_of_payments(conn, wanted)
            assert scans and scans <= indexed, (way, scans)
        later = await scans_of_payments(conn, PaymentFilter(), cursor=first.next_cursor)
        assert later and later <= indexed, later


@pytest.mark.slow
async def test_a_million_payments_answer_each_search_within_300_ms(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    utilities = await fill(engine, clock, 1_000_000)
    slowest = {}
    async with engine.connect() as conn:
        for way, wanted in ways(utilities, water(world).id, channel(world, "wechat").id).items():
            took = []
            for _ in range(20):
                started = time.perf_counter()
                page = await search.search(conn, wanted, limit=50)
                if page.next_cursor:  # and the page after it
                    await search.search(conn, wanted, cursor=page.next_cursor, limit=50)
                took.append((time.perf_counter() - started) * 1000 / 2)
            slowest[way] = round(statistics.quantiles(took, n=20)[-1], 1)  # p95, ms a page
    print(slowest)
    assert max(slowest.values()) < 300, slowest

"""``GET /metrics``: the hub's backlogs for Prometheus, read from the database, for admins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import START, channel, water
from tests.recon.test_recon_run import payment
from utilipay.metrics.service import _UNRESOLVED_SQL, QUEUES, _queue_sql
from utilipay.outbox.service import Event, emit


async def scrape(admin: httpx.AsyncClient) -> dict[tuple[str, tuple[str, ...]], float]:
    r = await admin.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(s.labels.values())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


async def test_backlogs_count_what_waits_and_how_long_the_oldest_has(
    admin: httpx.AsyncClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    quiet = await scrape(admin)
    assert {q[0] for (name, q) in quiet if name == "utilipay_backlog_items"} == set(QUEUES)
    assert all(v == 0 for (name, _), v in quiet.items() if name.startswith("utilipay_backlog"))
    assert not any(name.startswith("utilipay_payments_unresolved") for name, _ in quiet)

    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-LOST-1", 100, "PROCESSING")  # created 12:00 Shanghai
        await payment(conn, b, wx, "W-LOST-2", 200, "PROCESSING")
        await payment(conn, b, wx, "W-DONE", 300, finished=START - timedelta(hours=1))
        event = Event(b, "test.happened", "x", {}, START - timedelta(minutes=5))
        await emit(conn, [event, event])
    busy = await scrape(admin)
    # the hub's clock says 15:30 in Shanghai: 3 h 30 min and a second since 11:59:59
    assert busy[("utilipay_payments_unresolved", ("BJWATER",))] == 2
    assert busy[("utilipay_payments_unresolved_oldest_seconds", ("BJWATER",))] == 12601
    assert busy[("utilipay_backlog_items", ("outbox",))] == 2
    assert busy[("utilipay_backlog_oldest_seconds", ("outbox",))] == 300
    assert busy[("utilipay_backlog_items", ("exceptions",))] == 0


async def test_metrics_are_for_admins_only(http: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer upt_" + "x" * 43}):
        r = await http.get("/metrics", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


async def _open_work_indexes(conn: AsyncConnection) -> set[str]:
    """Partial indexes, and indexes led by a status: either reads only the open items (on
    the test's tiny tables the planner picks between them by a hair, run to run)."""
    query = """
        SELECT i.indexrelid::regclass::text FROM pg_index i
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indpred IS NOT NULL OR a.attname = 'status'"""
    return set((await conn.execute(text(query))).scalars())


async def test_each_backlog_is_read_from_a_partial_index_of_open_work(engine: AsyncEngine) -> None:
    """Through the owners' views (migration 0024) a scrape still reads only the open items:
    with sequential scans off (the test's tables are tiny), no backlog's plan scans a
    table, and each reads a partial index (or one led by the status). A view the planner
    could not see through (an aggregate, a DISTINCT) would leave a sequential scan here."""
    statements = {name: _queue_sql(name, *how) for name, how in QUEUES.items()}
    statements["unresolved_payments"] = _UNRESOLVED_SQL
    async with engine.begin() as conn:
        partial = await _open_work_indexes(conn)
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        for name, sql in statements.items():
            explained = await conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), {"now": START})
            nodes = list(_scans(explained.scalar_one()[0]["Plan"]))
            assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], name
            assert {n.get("Index Name") for n in nodes} & partial, name

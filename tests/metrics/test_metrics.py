"""``GET /metrics``: the hub's backlogs for Prometheus, read from the database, for admins."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START, AdminHeaders, channel, water
from tests.recon.test_recon_run import payment
from utilipay.access.scopes import Scope
from utilipay.metrics.service import QUEUES
from utilipay.outbox.service import Event, emit


@pytest.fixture
async def admin(http: httpx.AsyncClient, admin_headers: AdminHeaders) -> httpx.AsyncClient:
    """The hub, as a Prometheus scrape job with its own token sees it."""
    http.headers.update(await admin_headers(Scope.METRICS_READ, name="prometheus"))
    return http


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

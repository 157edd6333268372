"""A payer's payment history at a channel (channel-api.md §13): ``GET /v1/payments?payer=…``
pages newest first by a cursor that holds while payments arrive, within Shanghai business
dates, only the asking channel's payments, every refusal a 400 problem; and a page reads
migration 0046's index, proved by the plan PostgreSQL makes after ANALYZE."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import START, channel, water
from tests.payments.history import write_payments
from tests.recon.test_recon_run import at
from utilipay.clock import FrozenClock
from utilipay.payments import history, search
from utilipay.web.app import create_app
from utilipay_tools.client import ChannelClient

PAYER = "wx-openid-history"
INDEX = "payments_by_channel_payer_time"


async def write(engine: AsyncEngine, world: dict[str, object], **payments: Any) -> None:
    """Payments of the water utility, committed (the hub reads them in its own transaction)."""
    at_channel = channel(world, payments.pop("at", "wechat")).id
    async with engine.begin() as conn:
        await write_payments(conn, biller=water(world).id, channel=at_channel, **payments)


async def write_one(
    engine: AsyncEngine, world: dict[str, object], prefix: str, created: datetime
) -> None:
    """One payment of PAYER at WECHAT, ``prefix``1, created at ``created``."""
    await write(engine, world, prefix=prefix, n=1, created=created, payer=PAYER)


async def listed(client: ChannelClient, **params: str) -> Any:
    r = await client.call("GET", "/v1/payments", params={"payer": PAYER, **params})
    assert r.status_code == 200, r.text
    return r.json()


def order_ids(page: Any) -> list[str]:
    return [p["order_id"] for p in page["payments"]]


async def test_120_payments_page_newest_first_in_three_pages_while_one_arrives(
    wechat: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    made = START - timedelta(days=3)
    await write(
        engine, world, prefix="H", n=120, created=made, payer=PAYER, spacing=timedelta(minutes=1)
    )
    first = await listed(wechat)
    assert order_ids(first) == [f"H{n}" for n in range(120, 70, -1)]
    await write(engine, world, prefix="NEW", n=1, created=START, payer=PAYER)  # meanwhile
    second = await listed(wechat, cursor=first["next_cursor"])
    assert order_ids(second) == [f"H{n}" for n in range(70, 20, -1)]
    third = await listed(wechat, cursor=second["next_cursor"])
    assert order_ids(third) == [f"H{n}" for n in range(20, 0, -1)]
    assert third["next_cursor"] is None
    assert order_ids(await listed(wechat))[:2] == ["NEW1", "H120"]  # the new one on top


async def test_each_item_is_the_payment_object_of_every_status(
    wechat: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    for n, status in enumerate(("SUCCEEDED", "PROCESSING", "FAILED", "VOIDED")):
        await write(engine, world, prefix=status[:3], n=1, created=START - timedelta(hours=n),
                    payer=PAYER, status=status)  # fmt: skip
    page = await listed(wechat)
    assert [p["status"] for p in page["payments"]] == [
        "SUCCEEDED",
        "PROCESSING",
        "FAILED",
        "VOIDED",
    ]
    for item in page["payments"]:
        alone = await wechat.call("GET", f"/v1/payments/{item['id']}")
        assert item == alone.json()
    assert page["payments"][0]["receipt_no"] == "R-SUC1"
    assert page["payments"][2]["failure_code"] == "DECLINED"


async def test_from_and_to_are_shanghai_days_both_included(
    wechat: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    edges = {  # around Shanghai's midnights
        "BEFORE": at(date(2026, 11, 9), "23:59:59"),
        "FIRST": at(date(2026, 11, 10), "00:00:00"),
        "LAST": at(date(2026, 11, 12), "23:59:59"),
        "AFTER": at(date(2026, 11, 13), "00:00:00"),
    }
    for prefix, created in edges.items():
        await write_one(engine, world, prefix, created)
    page = await listed(wechat, **{"from": "2026-11-10", "to": "2026-11-12"})
    assert order_ids(page) == ["LAST1", "FIRST1"]
    assert order_ids(await listed(wechat, to="2026-11-09")) == ["BEFORE1"]
    assert order_ids(await listed(wechat)) == ["AFTER1", "LAST1", "FIRST1", "BEFORE1"]


async def test_the_default_span_is_the_366_days_up_to_today(
    wechat: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    today = date(2026, 11, 22)  # the clock's, in Shanghai
    await write_one(engine, world, "IN", at(today - timedelta(days=365), "00:00"))
    await write_one(engine, world, "OUT", at(today - timedelta(days=366), "23:59"))
    assert order_ids(await listed(wechat)) == ["IN1"]


async def test_another_channels_payments_of_the_same_payer_are_not_shown(
    wechat: ChannelClient, alipay: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    await write(engine, world, prefix="WX", n=2, created=START - timedelta(hours=1), payer=PAYER)
    await write(
        engine,
        world,
        prefix="ALI",
        n=3,
        created=START - timedelta(hours=1),
        payer=PAYER,
        at="alipay",
    )
    await write(
        engine, world, prefix="ELSE", n=1, created=START - timedelta(hours=1), payer="someone-else"
    )
    assert order_ids(await listed(wechat)) == ["WX2", "WX1"]
    assert order_ids(await listed(alipay)) == ["ALI3", "ALI2", "ALI1"]
    assert await listed(wechat, payer="nobody") == {"payments": [], "next_cursor": None}


def forged(*position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


BAD_CURSOR = "cursor is not one a previous page gave"
CURSORS = {
    "not base64": "%%%",
    "not a position": forged("x"),
    "no time zone": forged("2026-11-01T00:00:00", "P1"),
    "a NUL in the id": forged("2026-11-01T00:00:00+00:00", "P\x00"),
    "a time past UTC's range": forged("0001-01-01T00:00:00+08:00", "P1"),
    "a number for an id": forged("2026-11-01T00:00:00+00:00", 1),
}
REFUSED = {
    "neither": ({}, "give order_id (one payment) or payer"),
    "both": ({"payer": PAYER, "order_id": "WX1"}, "give order_id or payer, not both"),
    "history with an order": ({"order_id": "WX1", "cursor": "x", "to": "2026-11-01"},
                              "to, cursor go with payer, not with order_id"),
    "from after to": ({"payer": PAYER, "from": "2026-11-02", "to": "2026-11-01"},
                      "from 2026-11-02 is after to 2026-11-01"),
    "over 366 days": ({"payer": PAYER, "from": "2025-10-31", "to": "2026-11-01"},
                      "from 2025-10-31 to 2026-11-01 is 367 days; at most 366"),
    "from alone, long ago": ({"payer": PAYER, "from": "2024-01-01"}, "is 1057 days; at most 366"),
    "malformed date": ({"payer": PAYER, "from": "2026-13-01"}, "from"),
    "an empty payer": ({"payer": ""}, "payer"),
    **{f"cursor {n}": ({"payer": PAYER, "cursor": c}, BAD_CURSOR) for n, c in CURSORS.items()},
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
async def test_bad_requests_are_400_problems(
    case: str, wechat: ChannelClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    params, detail = REFUSED[case]
    r = await wechat.call("GET", "/v1/payments", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "MALFORMED_REQUEST"
    assert detail in r.json()["detail"]


async def test_the_route_and_its_problems_are_in_the_openapi_document() -> None:
    doc: dict[str, Any] = create_app().fastapi.openapi()
    operation = doc["paths"]["/v1/payments"]["get"]
    params = {p["name"] for p in operation["parameters"]}
    assert {"order_id", "payer", "from", "to", "cursor"} <= params
    answers = operation["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/PaymentsPageOut"} in answers
    assert {"400", "401", "403", "503"} <= set(operation["responses"])
    page = doc["components"]["schemas"]["PaymentsPageOut"]["properties"]
    assert set(page) == {"payments", "next_cursor"}


# --- a page reads the index ---------------------------------------------------------------

FILL = text(
    """
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, currency, bill_nos, status, receipt_no, created_at,
                          finished_at, check_attempts, refund_attempts, purpose)
    SELECT :biller, 'P' || lpad(n::text, 12, '0'), c.ids[1 + n / 10 % 2], 'O' || n, '\\x00',
           'payer-' || n % 10, '0100000001', 100 + n, 'CNY', '{}', 'SUCCEEDED', 'R' || n,
           CAST(:start AS timestamptz) + n * interval '1 hour',
           CAST(:start AS timestamptz) + n * interval '1 hour', 0, 0, 'bills'
      FROM generate_series(1, :rows) AS n,
           (SELECT array_agg(id ORDER BY id) AS ids FROM channels) AS c
    """
)


async def index_scans(
    conn: AsyncConnection, channel_id: int, cursor: str | None
) -> list[tuple[str, str]]:
    """The (node type, index) of each node reading ``payments`` in the page's plan."""
    span = history.Span(date(2026, 1, 1), date(2026, 11, 22))
    wanted = history.wanted(channel_id, "payer-7", span)
    query = search.page_query(wanted, cursor, history.PAGE)
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, params)).scalar()
    found: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == "payments":
            found.append((node["Node Type"], node.get("Index Name", "")))
        for child in node.get("Plans", []):
            walk(child)

    assert isinstance(plan, list)
    walk(plan[0]["Plan"])
    return found


async def test_a_page_is_an_index_scan_of_the_channel_payer_index(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(FILL, {"rows": 8000, "biller": water(world).id, "start": start})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE payments"))
        assert (await conn.execute(text("SHOW enable_seqscan"))).scalar() == "on"
        later = forged(datetime(2026, 6, 1, tzinfo=UTC).isoformat(), "P000000000001")
        for cursor in (None, later):
            scans = await index_scans(conn, channel(world, "wechat").id, cursor)
            assert scans == [("Index Scan", INDEX)], cursor

"""Every correction a run leaves for a person waits in the one work queue (``exceptions
list``, the admin API, the ``exceptions`` backlog) with its evidence, until somebody
resolves it with an outcome that fits it; the payment exceptions work as before."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (the cli fixture)
from tests.conftest import AdminHeaders, channel, water
from tests.recon.test_recon_corrections import apply, breaks  # noqa: F401 (the fixture)
from tests.recon.test_recon_run import D, at, payment, run, statement
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments import exceptions


async def queue(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    listed = await http.get("/admin/v1/exceptions")
    assert listed.status_code == 200, listed.text
    return {e["order_id"]: e for e in listed.json()["exceptions"]}


async def backlog(http: httpx.AsyncClient) -> float:
    scraped = await http.get("/metrics")
    wanted = 'utilipay_backlog_items{queue="exceptions"}'
    line = next(x for x in scraped.text.splitlines() if x.startswith(wanted))
    return float(line.rsplit(" ", 1)[1])


async def resolve(http: httpx.AsyncClient, item: dict[str, Any], **body: str) -> httpx.Response:
    return await http.post(f"/admin/v1/exceptions/{item['id']}/resolve", json=body)


@pytest.fixture
async def ops(http: httpx.AsyncClient, admin_headers: AdminHeaders) -> httpx.AsyncClient:
    """The admin API (and /metrics), opened to ops-carol's token."""
    http.headers.update(await admin_headers(name="ops-carol"))
    return http


async def test_an_order_the_hub_never_saw_waits_for_a_person_with_the_channels_evidence(
    engine: AsyncEngine,
    clock: FrozenClock,
    breaks: int,  # noqa: F811
    ops: httpx.AsyncClient,
    world: dict[str, object],
) -> None:
    http = ops
    assert await backlog(http) == 0
    done = {a.order_id: a.outcome for a in await apply(engine, clock, breaks)}
    assert done["W-LONG"].startswith("exception ") and done["W-LONG"].endswith("for a person")

    items = await queue(http)
    assert sorted(items) == ["W-LONG", "W-SHORT"]
    assert await backlog(http) == 2
    never_seen = items["W-LONG"]
    assert never_seen | {"id": 0, "opened_at": "", "evidence": {}} == {
        "id": 0, "kind": "CHANNEL_ONLY", "payment_id": None, "order_id": "W-LONG",
        "channel": "WECHAT", "biller": None, "account": None, "amount": 600, "opened_at": "",
        "reason": f"reconciliation run {breaks}: CHANNEL_ONLY; daily recon", "evidence": {},
        "outcomes": ["REFUNDED", "BOOKED_LATE", "NO_ACTION"],
    }  # fmt: skip
    seen = never_seen["evidence"]["channel"]
    assert (seen["amount"], seen["order_id"]) == (600, "W-LONG")
    assert seen["statement"] | {"file": "?", "at": "?"} == {
        "file": "?", "line": 3, "reference": "REF3", "account": None, "amount": 600,
        "status": "PAID", "at": "?",
    }  # fmt: skip
    assert seen["statement"]["file"].startswith("WECHAT_2026-11-22")
    assert seen["statement"]["at"].startswith("2026-11-22T02:30:00")  # 10:30 in Shanghai
    assert "hub" not in never_seen["evidence"]  # the hub has nothing for it
    assert items["W-SHORT"]["outcomes"] == ["NO_ACTION"]  # the channel did not take money

    refused = await resolve(http, never_seen, outcome="WRITTEN_OFF", reason="checked")
    assert (refused.status_code, refused.json()["code"]) == (400, "MALFORMED_REQUEST")
    assert "resolve it REFUNDED, BOOKED_LATE, NO_ACTION" in refused.json()["detail"]
    no_ref = await resolve(http, never_seen, outcome="REFUNDED", reason="WeChat refunded it")
    assert "needs a reference: the channel's refund reference" in no_ref.json()["detail"]
    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:  # the payer paid again the next morning, 5 yuan more
        await payment(conn, b, wx, "W-AGAIN", 650, finished=at(D, "11:00"), payment_id="P-AGAIN")
        await payment(conn, b, wx, "W-AGAIN-2", 600, finished=at(D, "11:30"), payment_id="P-OK")
    wrong = await resolve(http, never_seen, outcome="BOOKED_LATE", reason="paid again",
                          reference="P-AGAIN")  # fmt: skip
    assert "is 650 fen at WECHAT, the channel took 600 fen at WECHAT" in wrong.json()["detail"]
    assert await backlog(http) == 2  # a refusal writes nothing
    booked = await resolve(http, never_seen, outcome="BOOKED_LATE", reason="paid again",
                           reference="P-OK")  # fmt: skip
    assert booked.status_code == 200, booked.text
    assert booked.json() == {"id": never_seen["id"], "outcome": "BOOKED_LATE",
                             "payment": "order W-LONG of WECHAT: recorded BOOKED_LATE (P-OK)",
                             "resolved_by": "ops-carol"}  # fmt: skip
    assert sorted(await queue(http)) == ["W-SHORT"]
    assert await backlog(http) == 1
    async with engine.connect() as conn:
        audit = (
            await conn.execute(text("SELECT * FROM audit_log WHERE action = 'exception.resolve'"))
        ).one()
    assert (audit.actor, audit.object_type, audit.object_id) == (
        "ops-carol", "order", "WECHAT:W-LONG"
    )  # fmt: skip
    assert (audit.details["kind"], audit.details["reference"]) == ("CHANNEL_ONLY", "P-OK")
    assert audit.details["evidence"]["channel"]["amount"] == 600

    # the day reconciled again: the break is found again, and stays resolved
    clock.advance(timedelta(hours=1))
    again_run = (await run(engine, clock)).id
    again = {a.order_id: a.outcome for a in await apply(engine, clock, again_run)}
    resolved = f"already resolved BOOKED_LATE by ops-carol (exception {never_seen['id']})"
    assert again["W-LONG"] == resolved
    assert "W-LONG" not in await queue(http)


async def test_a_payment_the_channel_does_not_list_is_resolved_with_no_action(
    engine: AsyncEngine,
    clock: FrozenClock,
    breaks: int,  # noqa: F811
    ops: httpx.AsyncClient,
) -> None:
    http = ops
    await apply(engine, clock, breaks)
    short = (await queue(http))["W-SHORT"]
    assert (short["kind"], short["payment_id"] is not None) == ("HUB_ONLY", True)
    assert (short["amount"], short["channel"], short["biller"]) == (700, "WECHAT", "BJWATER")
    assert short["evidence"]["hub"]["status"] == "SUCCEEDED"
    refunded = await resolve(http, short, outcome="REFUNDED", reason="?", reference="R1")
    assert refunded.status_code == 400
    done = await resolve(http, short, outcome="NO_ACTION",
                         reason="WeChat confirms the order: left off its statement")  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["payment"].startswith(f"payment {short['payment_id']} unchanged")
    async with engine.connect() as conn:
        status = await conn.execute(
            text("SELECT status FROM payments WHERE id = :p"), {"p": short["payment_id"]}
        )
        assert status.scalar_one() == "SUCCEEDED"


def test_the_command_line_lists_the_queue_with_its_evidence_and_resolves_it(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
) -> None:
    invoke(cli, "channels", "add", "WECHAT", "--secret", "cli-wechat-secret-0123456789")
    sql(
        db_url,
        "INSERT INTO recon_runs (business_date, cutoff_s, actor, started_at, finished_at,"
        " records, counts, sources) VALUES ('2026-11-22', 900, 't', now(), now(), 1, '{}', '{}')",
        "INSERT INTO recon_items (run_id, item_no, class, action, channel_code, order_id,"
        " channel_lines, channel_amount, channel_line, utility_lines)"
        " VALUES (1, 1, 'CHANNEL_ONLY', 'EXCEPTION', 'WECHAT', 'W-LONG', 1, 600, '1:3', 0)",
        "INSERT INTO recon_corrections (run_id, item_no, action, idempotency_key, class,"
        " channel_code, order_id, evidence, status, outcome, applied_at, applied_by, reason)"
        " VALUES (1, 1, 'EXCEPTION', '1:WECHAT:W-LONG:EXCEPTION', 'CHANNEL_ONLY', 'WECHAT',"
        ' \'W-LONG\', \'{"channel": {"amount": 600, "net_lines": 1, "at": "2026-11-22"}}\','
        " 'APPLIED', 'exception 1 opened for a person', now(), 't', 'daily')",
        "INSERT INTO payment_exceptions (kind, channel_code, order_id, run_id, item_no,"
        " evidence, reason, opened_at) SELECT 'CHANNEL_ONLY', 'WECHAT', 'W-LONG', 1, 1,"
        " evidence, 'reconciliation run 1: CHANNEL_ONLY; daily', now() FROM recon_corrections",
    )
    listed = invoke(cli, "exceptions", "list", "--kind", "channel_only", "--json")
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)["exceptions"]
    assert (item["kind"], item["order_id"], item["amount"]) == ("CHANNEL_ONLY", "W-LONG", 600)
    assert item["outcomes"] == ["REFUNDED", "BOOKED_LATE", "NO_ACTION"]
    assert "no open exceptions" not in invoke(cli, "exceptions", "list").output
    wrong = invoke(cli, "exceptions", "resolve", "1", "--outcome", "retry", "--reason", "x")
    assert wrong.exit_code == 1 and "is a CHANNEL_ONLY: resolve it REFUNDED" in wrong.output
    r = invoke(cli, "exceptions", "resolve", "1", "--outcome", "refunded", "--reason",
               "WeChat refunded the payer", "--reference", "WXR-503")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "recorded REFUNDED (WXR-503)" in r.output
    assert sql(db_url, "SELECT resolution, reference, resolved_by FROM payment_exceptions")[0] == (
        "REFUNDED", "WXR-503", "ops-alice"
    )  # fmt: skip
    assert invoke(cli, "exceptions", "list").output.strip() == "no open exceptions"


async def test_one_payment_books_one_lost_order_even_when_two_people_try_at_once(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await statement(conn, "channel", "WECHAT", D, [
            ("W-LOST-1", 600, "PAID", at(D, "10:30")), ("W-LOST-2", 600, "PAID", at(D, "10:40")),
        ])  # fmt: skip
    await apply(engine, clock, (await run(engine, clock)).id)
    async with engine.begin() as conn:  # paid again later, once
        await payment(conn, b, wx, "W-AGAIN", 600, finished=at(D, "11:00"), payment_id="P-AGAIN")
        lost = await exceptions.list_open(conn, exceptions.Kind.CHANNEL_ONLY)

    async def book(item: exceptions.OpenException) -> str:
        async with engine.begin() as conn:
            return await exceptions.resolve(
                conn, clock, item.id, exceptions.Resolution.BOOKED_LATE, actor="ops",
                reason="the payer paid again", reference="P-AGAIN",
            )  # fmt: skip

    results = await asyncio.gather(*(book(item) for item in lost), return_exceptions=True)
    booked = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(booked) == len(refused) == 1, results
    assert refused[0].code is ErrorCode.MALFORMED_REQUEST
    assert "payment P-AGAIN already books exception" in refused[0].detail

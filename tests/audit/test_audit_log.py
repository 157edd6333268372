"""Reading the audit log: ``GET /admin/v1/audit`` and ``utilipay audit list``, newest first,
filtered, paged by cursor, each filter served in order by an index."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke  # noqa: F401 (cli: the fixture)
from tests.conftest import AdminHeaders
from utilipay.access.scopes import Scope
from utilipay.audit import service as audit
from utilipay.audit.queries import AuditFilter, audit_filter, entries, page_query
from utilipay.clock import FrozenClock


async def history(engine: AsyncEngine, clock: FrozenClock) -> None:
    """Only five actions, an hour apart, the last at the clock's now (15:30 in Shanghai)."""
    clock.advance(timedelta(hours=-4))
    actions = [
        ("li", "biller.update", "biller", "BJWATER"),
        ("wang", "channel.add", "channel", "WECHAT"),
        ("li", "biller.update", "biller", "BJPOWER"),
        ("li", "settlement.fee", "channel", "WECHAT"),
        ("wang", "biller.update", "biller", "BJWATER"),
    ]
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_log"))  # the test world's, the tokens'
        for n, (actor, action, kind, object_id) in enumerate(actions):
            await audit.record(
                conn, clock, actor=actor, action=action, object_type=kind, object_id=object_id,
                reason=f"change {n}", before={"n": n - 1}, after={"n": n},
            )  # fmt: skip
            clock.advance(timedelta(hours=1))
    clock.advance(timedelta(hours=-1))


async def listed(http: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    r = await http.get("/admin/v1/audit", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_api_pages_newest_first_and_filters(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin_headers: AdminHeaders
) -> None:
    reader = await admin_headers(Scope.OPS_READ, name="auditor")
    await history(engine, clock)
    first = await listed(http, reader, limit=2)
    assert [e["reason"] for e in first["entries"]] == ["change 4", "change 3"]
    assert {k: v for k, v in first["entries"][0].items() if k != "id"} == {
        "at": "2026-11-22T15:30:00+08:00", "actor": "wang", "action": "biller.update",
        "object": {"type": "biller", "id": "BJWATER"}, "reason": "change 4", "details": {},
        "before": {"n": 3}, "after": {"n": 4},
    }  # fmt: skip
    async with engine.begin() as conn:  # a new entry does not shift the pages after the first
        await audit.record(conn, clock, actor="zhao", action="x", object_type="y", object_id="z")
    second = await listed(http, reader, limit=2, cursor=first["next_cursor"])
    assert [e["reason"] for e in second["entries"]] == ["change 2", "change 1"]
    last = await listed(http, reader, limit=2, cursor=second["next_cursor"])
    assert ([e["reason"] for e in last["entries"]], last["next_cursor"]) == (["change 0"], None)

    async def reasons(**params: str) -> list[str]:
        return [e["reason"] for e in (await listed(http, reader, **params))["entries"]]

    assert await reasons(actor="li") == ["change 3", "change 2", "change 0"]
    assert await reasons(object="biller") == ["change 4", "change 2", "change 0"]
    assert await reasons(object="biller:BJWATER") == ["change 4", "change 0"]
    assert await reasons(object="channel:WECHAT", actor="li") == ["change 3"]
    since_1330 = await reasons(since="2026-11-22T13:30:00+08:00", object="biller")
    assert since_1330 == ["change 4", "change 2"]
    assert len(await reasons(since="2026-11-22")) == 6
    assert await reasons(since="2026-11-23") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor is not one a previous page gave"),
        ({"cursor": "%%%"}, "cursor is not one a previous page gave"),
        ({"since": "yesterday"}, "since 'yesterday' must be YYYY-MM-DD or an ISO instant"),
        ({"since": "2026-11-22T10:00"}, "needs an offset"),
        ({"object": "biller:"}, "must be TYPE or TYPE:ID"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
    ],
)
async def test_bad_filters_are_problems(
    http: httpx.AsyncClient, admin_headers: AdminHeaders, params: dict[str, str], message: str
) -> None:
    r = await http.get("/admin/v1/audit", params=params, headers=await admin_headers())
    assert (r.status_code, r.json()["code"]) == (400, "MALFORMED_REQUEST")
    assert message in r.json()["detail"]


@pytest.mark.parametrize(
    "wanted",
    [
        AuditFilter(),
        AuditFilter(actor="li"),
        AuditFilter(object_type="biller"),
        AuditFilter(object_type="biller", object_id="BJWATER"),
    ],
)
async def test_every_filter_reads_its_page_from_an_index_in_order(
    engine: AsyncEngine, clock: FrozenClock, wanted: AuditFilter
) -> None:
    await history(engine, clock)
    async with engine.connect() as conn:
        cursor = (await entries(conn, AuditFilter(), limit=1)).next_cursor
        query = page_query(wanted, cursor, 50).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True}
        )
        # as with a long history; a Sort left in the plan then means no index gives the order
        for method in ("seqscan", "bitmapscan", "sort"):
            await conn.execute(text(f"SET LOCAL enable_{method} = off"))
        plan = "\n".join(r[0] for r in await conn.execute(text(f"EXPLAIN {query}")))
    assert "Index Scan Backward" in plan and "Sort" not in plan, plan


async def test_writes_through_the_admin_api_record_before_and_after(
    http: httpx.AsyncClient, admin_headers: AdminHeaders
) -> None:
    li = await admin_headers(Scope.CONFIG_WRITE, Scope.OPS_READ, name="li")
    r = await http.put("/admin/v1/billers/BJWATER/prepaid", headers=li,
                       json={"reminder": 3000, "reason": "ticket 42"})  # fmt: skip
    assert r.status_code == 200, r.text
    (entry,) = (await listed(http, li, object="biller:BJWATER", actor="li"))["entries"]
    assert (entry["actor"], entry["action"], entry["reason"]) == ("li", "biller.update",
                                                                  "ticket 42")  # fmt: skip
    assert (entry["before"], entry["after"]) == ({"prepaid_reminder": 2000},
                                                 {"prepaid_reminder": 3000})  # fmt: skip


def test_the_command_lists_the_same_entries(
    cli: CliRunner,  # noqa: F811
) -> None:
    r = invoke(cli, "billers", "add", "BJGAS", "--name", "北京燃气", "--category", "gas",
               "--mode", "hosted", "--account-rule", r"\d{10}")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke(cli, "billers", "update", "BJGAS", "--prepaid-reminder", "5000",
               "--reason", "winter")  # fmt: skip
    assert r.exit_code == 0, r.output
    shown = invoke(cli, "audit", "list", "--object", "biller:BJGAS", "--limit", "1")
    assert shown.exit_code == 0, shown.output
    assert "biller.update" in shown.stdout and "biller.add" not in shown.stdout
    assert "more: --cursor" in shown.stdout
    page = json.loads(invoke(cli, "audit", "list", "--actor", "ops-alice", "--json").stdout)
    assert [e["action"] for e in page["entries"]] == ["biller.update", "biller.add"]
    assert page["entries"][0]["after"] == {"prepaid_reminder": 5000}
    assert page["next_cursor"] is None
    assert json.loads(invoke(cli, "audit", "list", "--actor", "nobody", "--json").stdout) == {
        "entries": [], "next_cursor": None,
    }  # fmt: skip
    bad = invoke(cli, "audit", "list", "--since", "last week")
    assert bad.exit_code == 1 and "since 'last week' must be YYYY-MM-DD" in bad.output


async def test_until_a_date_takes_that_whole_day_and_until_an_instant_stops_there(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    # START is 15:30 in Shanghai on 2026-11-22; one entry then, one the next day
    async with engine.begin() as conn:
        await audit.record(conn, clock, actor="a", action="x", object_type="t", object_id="22")
        clock.advance(timedelta(days=1))
        await audit.record(conn, clock, actor="a", action="x", object_type="t", object_id="23")
    async with engine.connect() as conn:
        day = await entries(conn, audit_filter(None, None, None, "2026-11-22"))
        instant = await entries(conn, audit_filter(None, None, None, "2026-11-22T15:30:00+08:00"))
    assert [e["object"]["id"] for e in day.entries] == ["22"]
    assert instant.entries == []  # until an instant excludes it

"""A hosted biller's prepaid rules, set through the admin API and ``utilipay billers``:
checked, audited, and obeyed by the prepaid engine (the grace drives the cut)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (cli: the fixture)
from tests.conftest import AdminHeaders
from tests.prepaid.test_prepaid_topup import account, events, open_account, top_up
from utilipay.access.scopes import Scope
from utilipay.clock import FrozenClock
from utilipay.prepaid.cuts import cut_due
from utilipay_tools.client import ChannelClient

MONDAY_0830 = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai, a working day
PREPAID = "/admin/v1/billers/BJWATER/prepaid"
RULES = "SELECT prepaid_reminder, prepaid_cut_grace_s, prepaid_reward_points, prepaid_reward_min"


async def put(http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return await http.put(PREPAID, headers=headers, json=body)


async def cut_at(engine: AsyncEngine, now: datetime) -> int:
    async with engine.begin() as conn:
        return await cut_due(conn, now)


async def test_the_grace_set_through_the_api_drives_the_cut(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin_headers: AdminHeaders
) -> None:
    await open_account(engine, clock)
    async with engine.begin() as conn:
        await conn.execute(
            # in arrears and warned of the outage at the same moment
            text(
                "UPDATE prepaid_accounts SET state = 'ARREARS', state_since = :t,"
                " outage_warned_at = :t, notified = notified || 'ARREARS'::text"
            ),
            {"t": MONDAY_0830},
        )
    li = await admin_headers(Scope.CONFIG_WRITE, name="li")
    r = await put(http, li, {"cut_grace_s": 2 * 3600, "reason": "pilot: two hours"})
    assert r.status_code == 200, r.text
    assert r.json() == {"biller": "BJWATER", "reminder": 2000, "cut_grace_s": 7200,
                        "reward_points": 0, "reward_min": 5000}  # fmt: skip
    assert await cut_at(engine, MONDAY_0830 + timedelta(hours=2, seconds=-1)) == 0
    assert await cut_at(engine, MONDAY_0830 + timedelta(hours=2)) == 1  # not 24 h later
    reader = await admin_headers(Scope.OPS_READ, name="reader")
    shown = await http.get(PREPAID, headers=reader)
    assert (shown.status_code, shown.json()) == (200, r.json())


async def test_the_reminder_and_the_reward_set_through_the_api_rule_top_ups(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    clock: FrozenClock,
    wechat: ChannelClient,
    admin_headers: AdminHeaders,
) -> None:
    li = await admin_headers(Scope.CONFIG_WRITE, name="li")
    r = await put(http, li, {"reminder": 5000, "reward_points": 10, "reward_min": 3000})
    assert r.status_code == 200, r.text
    await open_account(engine, clock)
    assert (await top_up(wechat, "TOPUP-1", 4000)).status_code == 201
    assert (await account(engine)).state == "LOW"  # below 50 yuan, not the default 20
    assert [e["points"] for e in await events(engine, "prepaid.rewarded")] == [10]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cut_grace_s": 600}, "the prepaid cut grace must be 1 to 720 hours, not 600 s"),
        ({"cut_grace_s": 31 * 86400}, "cut grace must be 1 to 720 hours"),
        ({"reminder": 1_000_001}, "reminder must be 0 to 1000000 fen (0.00 to 10,000.00 yuan)"),
        ({"reminder": -1}, "reminder: Input should be greater than or equal to 0"),
        ({"reminder": 20.5}, "reminder: Input should be a valid integer"),
        ({"reminder": "2000"}, "reminder: Input should be a valid integer"),
        ({"reward_min": 0}, "reward min must be 1 to 5000000 fen"),
        ({"reward_points": 100_001}, "reward points must be 0 to 100000"),
        ({"reminder": 3000, "grace": 1}, "grace: Extra inputs are not permitted"),
        ({"reason": "nothing"}, "nothing to change"),
    ],
)
async def test_bad_settings_are_refused_and_change_nothing(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    admin_headers: AdminHeaders,
    body: dict[str, Any],
    message: str,
) -> None:
    r = await put(http, await admin_headers(Scope.CONFIG_WRITE, name="li"), body)
    assert (r.status_code, r.json()["code"]) == (400, "MALFORMED_REQUEST")
    assert message in r.json()["detail"]
    async with engine.connect() as conn:
        assert (await conn.execute(text(f"{RULES} FROM billers"))).one() == (2000, 86400, 0, 5000)
        audited = text("SELECT count(*) FROM audit_log WHERE actor = 'li'")
        assert (await conn.execute(audited)).scalar_one() == 0


async def test_an_unknown_biller_is_404(
    http: httpx.AsyncClient, admin_headers: AdminHeaders
) -> None:
    headers = await admin_headers()
    r = await http.put("/admin/v1/billers/NOPE/prepaid", headers=headers, json={"reminder": 1})
    assert (r.status_code, r.json()["code"]) == (404, "BILLER_NOT_FOUND")
    r = await http.get("/admin/v1/billers/NOPE/prepaid", headers=headers)
    assert (r.status_code, r.json()["code"]) == (404, "BILLER_NOT_FOUND")


def test_prepaid_options_of_billers_add_and_update(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
) -> None:
    r = invoke(cli, "billers", "add", "BJPOWER", "--name", "国网北京电力",
               "--category", "electricity", "--mode", "hosted", "--account-rule", r"\d{10}",
               "--prepaid-reminder", "3000", "--prepaid-cut-grace", "48h")  # fmt: skip
    assert r.exit_code == 0, r.output
    rules = f"{RULES} FROM billers WHERE code = 'BJPOWER'"
    assert sql(db_url, rules) == [(3000, 48 * 3600, 0, 5000)]
    r = invoke(cli, "billers", "update", "BJPOWER", "--prepaid-reward-points", "10",
               "--prepaid-reward-min", "6000", "--prepaid-cut-grace", "1d")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert sql(db_url, rules) == [(3000, 86400, 10, 6000)]

    for args, message in [
        (("--prepaid-cut-grace", "10m"), "the prepaid cut grace must be 1 to 720 hours, not 600 s"),
        (("--prepaid-cut-grace", "soon"), "duration 'soon' must be a positive number"),
        (("--prepaid-reminder", "-5"), "the prepaid reminder must be 0 to 1000000 fen"),
    ]:
        r = invoke(cli, "billers", "update", "BJPOWER", *args)
        assert r.exit_code == 1 and message in r.output, r.output
    assert sql(db_url, rules) == [(3000, 86400, 10, 6000)]

    r = invoke(cli, "billers", "add", "RPOWER", "--name", "远程电力", "--category", "electricity",
               "--mode", "remote", "--account-rule", r"\d{10}", "--url", "https://rp.example.cn",
               "--key", "remote-key-0123456789", "--sign-type", "HMAC-SHA256",
               "--prepaid-reminder", "3000")  # fmt: skip
    assert r.exit_code == 1 and "RPOWER is remote: prepaid accounts are for hosted" in r.output
    assert sql(db_url, "SELECT count(*) FROM billers WHERE code = 'RPOWER'") == [(0,)]

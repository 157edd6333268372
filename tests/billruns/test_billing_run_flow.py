"""A run's bills flow on as imported ones do (messages, auto-pay); runs at once; the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.billruns.test_billing_run_support import (
    POWER,
    WATER,
    add_power,
    add_usage,
    as_of_clock,
    assign,
    open_accounts,
    rows,
    run,
    spread,
)
from tests.cli.test_cli import cli, invoke, sql
from tests.conftest import START, channel, water
from tests.notify.test_notify_support import by_kind, dispatch, queued, set_contacts
from utilipay.autopay.schedule import schedule_debits
from utilipay.cli import billing as billing_cli
from utilipay.clock import FrozenClock

OCT = "2026-10"
ACCOUNT = "0112345678"
PHONE = "+8613800138000"
__all__ = ["cli"]  # the CLI runner fixture, against the test database


async def test_a_run_made_bill_is_told_and_debited_like_an_imported_one(
    engine: AsyncEngine, hub: Any, world: dict[str, object]
) -> None:
    clock = as_of_clock(date(2026, 11, 1))
    await assign(engine, clock, WATER, "BJ_WATER_RES")
    await open_accounts(engine, WATER, ACCOUNT)
    await set_contacts(engine, ACCOUNT, phone=PHONE)
    await add_usage(engine, WATER, ACCOUNT, spread(OCT, 10))
    async with engine.begin() as conn:  # a mandate signed in September
        await conn.execute(
            text(
                "INSERT INTO mandates (biller_id, id, channel_id, payer, account_no, cap,"
                " funding_sources, status, signed_at, updated_at)"
                " VALUES (:b, 'M01', :c, 'wx-openid-abc', :a, 80000,"
                ' \'[{"id": "balance", "label": "余额"}]\', \'ACTIVE\', :at, :at)'
            ),
            {
                "b": water(world).id,
                "c": channel(world, "wechat").id,
                "a": ACCOUNT,
                "at": datetime(2026, 9, 1, tzinfo=UTC),
            },
        )
    await run(engine, clock, WATER, OCT)

    assert await dispatch(engine, clock, hub) == 1
    sms = by_kind(await queued(engine))["sms", PHONE]
    assert (sms.template, sms.params) == (
        "bill.issued",
        {
            "biller": WATER, "biller_name": "北京自来水", "account_no": ACCOUNT,
            "bill_no": "M202610-0112345678", "period": OCT, "amount": 5000, "late_fee": 0,
            "due_date": "2026-11-16",
        },
    )  # fmt: skip
    async with engine.begin() as conn:
        assert await schedule_debits(conn, clock.now()) == {"scheduled": 1}
    (debit,) = await rows(engine, "SELECT bill_nos, amount, status FROM debits")
    assert tuple(debit) == (["M202610-0112345678"], 5000, "SCHEDULED")


async def test_runs_at_the_same_time_bill_each_account_once(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES")
    accounts = [f"11000000{n:02}" for n in range(1, 9)]
    await open_accounts(engine, POWER, *accounts)
    for account in accounts:
        await add_usage(engine, POWER, account, spread(OCT, 100))
    reports = await asyncio.gather(*(run(engine, clock, POWER, OCT) for _ in range(3)))
    assert sorted(r.bills_issued for r in reports) == [0, 0, 8]
    assert sorted(r.already_billed for r in reports) == [0, 8, 8]
    assert len(await rows(engine, "SELECT * FROM bills")) == 8
    assert len(await rows(engine, "SELECT * FROM outbox_events")) == 8


@pytest.fixture
async def metered(engine: AsyncEngine) -> None:
    """BJPOWER on the monthly tariff; one account that used 246 kWh in October."""
    clock = FrozenClock(START)
    await add_power(engine, clock)
    await assign(engine, clock, POWER, "BJ_ELEC_RES")
    await open_accounts(engine, POWER, "1100000001")
    await add_usage(engine, POWER, "1100000001", spread(OCT, 246))


def test_billing_from_the_command_line(
    cli: CliRunner, metered: None, db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(billing_cli, "clock", FrozenClock(START))
    r = invoke(cli, "billing", "run", POWER, "--period", OCT, "--as-of", "2026-11-01", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert (report["bills_issued"], report["amount"], report["as_of"], report["due_date"]) == (
        1, 12042, "2026-11-01", "2026-11-16"
    )  # fmt: skip
    (issued_at,) = sql(db_url, "SELECT issued_at FROM bills")[0]
    assert issued_at == datetime(2026, 10, 31, 16, tzinfo=UTC)  # 1 November, 00:00 in Shanghai
    (actor,) = sql(db_url, "SELECT actor FROM billing_runs")[0]
    assert actor == "ops-alice"
    audited = sql(db_url, "SELECT actor, details FROM audit_log WHERE action = 'billing.run'")
    assert [(a, d["period"], d["bills_issued"]) for a, d in audited] == [("ops-alice", OCT, 1)]

    r = invoke(cli, "billing", "run", POWER, "--period", OCT)
    assert r.exit_code == 0, r.output
    assert re.search(r"billed for the month already +│ 1 ", r.output)

    r = invoke(cli, "billing", "show", POWER, "M202610-1100000001", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert [(x["kind"], x["band"], x["units"], x["exact_fen"]) for x in shown["lines"]] == [
        ("band", 1, "240.000", "11719.2000000"),
        ("band", 2, "6.000", "322.9800000"),
    ]
    r = invoke(cli, "billing", "show", POWER, "M202610-1100000001")
    assert "117.192" in r.output and "120.42" in r.output


def test_command_line_refusals(
    cli: CliRunner, metered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(billing_cli, "clock", FrozenClock(START))
    r = invoke(cli, "billing", "run", POWER, "--period", OCT, "--as-of", "2026-11-23")
    assert r.exit_code == 2 and "has not come yet" in r.output
    r = invoke(cli, "billing", "run", POWER, "--period", "2026-11")
    assert r.exit_code == 1 and "runs to 2026-11-30" in r.output
    r = invoke(cli, "billing", "show", POWER, "NOPE")
    assert r.exit_code == 1 and "BJPOWER has no bill NOPE" in r.output
    r = invoke(cli, "billing", "due-days", POWER, "91")
    assert r.exit_code == 1 and "due days 91 must be 1..90" in r.output
    r = invoke(cli, "billing", "due-days", POWER, "20")
    assert r.exit_code == 0 and "(was 15)" in r.output
    r = invoke(cli, "billing", "run", POWER, "--period", OCT, "--json")
    assert json.loads(r.output)["due_date"] == "2026-12-12"  # 22 November + 20 days

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.billing.schemas import ImportReport
from utilipay.clock import SHANGHAI, Clock, FrozenClock
from utilipay.common.passes import Pass
from utilipay.tariffs import service as tariffs
from utilipay_tools.client import ChannelClient

HEADER = "biller,account,holder,bill_no,period,amount,late_fee,due_date\n"
ACCOUNT = "0112345678"
HOLDER = "张三"  # of the accounts that bill_line and open_customer_account make


async def import_bills(engine: AsyncEngine, clock: Clock, *lines: str) -> ImportReport:
    rows = csvfile.parse_bills((HEADER + "\n".join(lines) + "\n").encode())
    async with engine.begin() as conn:
        return await billing_service.import_bills(conn, clock, rows)


def bill_line(
    bill_no: str,
    account: str = ACCOUNT,
    amount: int = 12345,
    late_fee: int = 0,
    *,
    holder: str = "张三",
    period: str = "2026-10",
    due: str = "2026-11-30",
) -> str:
    return f"BJWATER,{account},{holder},{bill_no},{period},{amount},{late_fee},{due}"


def payment_body(order_id: str = "WX20261122000123", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "biller": "BJWATER",
        "account": ACCOUNT,
        "amount": 12345,
        "bill_nos": ["B202610-0001"],
        "payer": "wx-openid-abc",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in the tables a payment writes, to prove a refusal wrote nothing."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM payments) AS payments,"
                    " (SELECT count(*) FROM journal_entries) AS entries,"
                    " (SELECT count(*) FROM postings) AS postings,"
                    " (SELECT count(*) FROM outbox_events"
                    "   WHERE event_type LIKE 'payment.%') AS events,"
                    " (SELECT count(*) FROM bills WHERE status = 'PAID') AS paid_bills,"
                    " (SELECT count(*) FROM bindings) AS bindings"
                )
            )
        ).one()
    return dict(row._mapping)


async def install_meter(
    conn: AsyncConnection,
    biller: str,
    account: str,
    *,
    service: str = "water",
    since: datetime = datetime(2026, 1, 1, tzinfo=SHANGHAI),
    removed: datetime | None = None,
    meter_id: str | None = None,
) -> None:
    """A meter on the account, as a meters import records it."""
    import_id = (
        await conn.execute(
            text(
                "INSERT INTO reading_imports (kind, source, sha256, counts, warnings, actor,"
                " imported_at) VALUES ('meters', 'test', repeat('0', 64), '{}', '[]', 'test',"
                " :since) RETURNING id"
            ),
            {"since": since},
        )
    ).scalar_one()
    await conn.execute(
        text(
            "INSERT INTO meters (biller_id, meter_id, account_no, service, unit, registers,"
            " digits, installed_at, removed_at, import_id)"
            " SELECT id, :m, :a, :service, :unit, '{total}', 8, :since, :removed, :i"
            " FROM billers WHERE code = :biller"
        ),
        {"m": meter_id or f"MTR-{account}", "a": account, "service": service,
         "unit": "kWh" if service == "electricity" else "m3", "since": since,
         "removed": removed, "i": import_id, "biller": biller},
    )  # fmt: skip


async def residential_tariff(
    conn: AsyncConnection, clock: Clock, biller: str, tariff: str, since: date = date(2026, 1, 1)
) -> None:
    """The shipped tariffs, and ``tariff`` for the biller's residential class from ``since``."""
    await tariffs.load_tariffs(conn, clock, None, "test")
    await tariffs.assign_tariff(
        conn, clock, biller=biller, customer_class="residential", tariff_code=tariff,
        effective_from=since, actor="test",
    )  # fmt: skip


async def open_customer_account(conn: AsyncConnection, biller: str, account: str) -> None:
    """A hosted account with no bills (holder 张三)."""
    await conn.execute(
        text(
            "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
            " created_at, language) SELECT id, :a, '张三', '', now(), 'zh-CN'"
            " FROM billers WHERE code = :biller"
        ),
        {"a": account, "biller": biller},
    )


async def prepaid_ready(
    conn: AsyncConnection, clock: Clock, biller: str, account: str, *, tariff: str
) -> None:
    """What prepaid enrolment needs: a tariff for the account's (residential) class, and a
    meter in service."""
    await residential_tariff(conn, clock, biller, tariff)
    service = "electricity" if tariff.startswith("BJ_ELEC") else "water"
    await install_meter(conn, biller, account, service=service)


async def audited_actors(engine: AsyncEngine, action: str) -> list[str]:
    """Who the audit log says did ``action``, oldest first."""
    async with engine.connect() as conn:
        query = text("SELECT actor FROM audit_log WHERE action = :a ORDER BY id")
        return [r.actor for r in await conn.execute(query, {"a": action})]


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait (polling) for ``condition``, e.g. a request to reach a simulator."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "it never happened"
        await asyncio.sleep(0.01)


async def until_waiting_on_locks(watcher: asyncpg.Connection, count: int) -> None:
    """Wait (polling, on the asyncpg connection ``watcher``) until ``count`` sessions of its
    database wait for a lock: requests queued behind a row a test holds."""
    deadline = time.monotonic() + 5.0
    while await watcher.fetchval(_WAITING_ON_LOCKS) < count:
        assert time.monotonic() < deadline, f"{count} session(s) never queued on a lock"
        await asyncio.sleep(0.01)


_WAITING_ON_LOCKS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


async def others_in_a_transaction(conn: AsyncConnection) -> list[str]:
    """What the other sessions on this database that have a transaction open last ran
    (autovacuum and the like aside): nothing, while a worker waits on the network."""
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))  # a transaction caches it
    found = await conn.execute(
        text(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            " AND xact_start IS NOT NULL"
        )
    )
    return list(found.scalars())


async def killed_mid_call(
    engine: AsyncEngine,
    clock: FrozenClock,
    table: str,
    lease: timedelta,
    one_pass: Callable[[], Awaitable[Pass]],
    called: Callable[[], bool],
) -> Pass:
    """A pass over ``table``'s one due item, killed while the other side holds its call
    (``called`` tells when it has it): meanwhile the row is not locked and shows the claim
    (one attempt, leased), and no session has a transaction open; afterwards the item is
    due again only when the lease ends. Returns what the pass then did."""
    running = asyncio.ensure_future(one_pass())
    await until(called)
    async with engine.connect() as conn:
        locked = (await conn.execute(text(f"SELECT * FROM {table} FOR UPDATE NOWAIT"))).one()
        assert await others_in_a_transaction(conn) == []
    assert not running.done()
    assert (locked.attempts, locked.next_attempt_at) == (1, clock.now() + lease)
    running.cancel()  # the worker dies before it learns the answer
    with pytest.raises(asyncio.CancelledError):
        await running
    clock.advance(lease - timedelta(seconds=1))
    assert (await one_pass()).attempted == 0  # still leased
    clock.advance(timedelta(seconds=1))
    return await one_pass()


async def bind_verified(
    client: ChannelClient, payer: str, biller: str = "BJWATER", account: str = ACCOUNT,
    holder: str = HOLDER,
) -> dict[str, Any]:  # fmt: skip
    """A payer's binding verified by the holder's name: what a prepaid view and auto-pay
    need (channel-api.md §13)."""
    body = {"payer": payer, "biller": biller, "account": account,
            "verification": {"holder_name": holder}}  # fmt: skip
    r = await client.call("POST", "/v1/bindings", json=body)
    assert r.status_code in {200, 201}, r.text
    assert r.json()["verified"] is True
    found: dict[str, Any] = r.json()
    return found

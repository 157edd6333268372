"""The ledger is append-only double-entry, and ``check`` proves the books."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import utilipay
from tests.conftest import START
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.billers.schemas import Biller
from utilipay.clock import FrozenClock
from utilipay.ledger import flows
from utilipay.ledger.check import Check, run_checks
from utilipay.ledger.service import balances
from utilipay.runtime.books import check_books
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def paid(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, alipay: ChannelClient
) -> None:
    await import_bills(
        engine,
        clock,
        bill_line("B202610-0001"),
        bill_line("B2", amount=700),
        bill_line("B3", amount=300),
        bill_line("B4-UNPAID", amount=999),
    )
    assert (await wechat.call("POST", "/v1/payments", json=payment_body())).status_code == 201
    r = await alipay.call(
        "POST", "/v1/payments", json=payment_body("ALI-1", bill_nos=["B2", "B3"], amount=1000)
    )
    assert r.status_code == 201


async def failures(engine: AsyncEngine) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        return {r.check.name: r.violations for r in await check_books(conn) if not r.passed}


async def test_balances_are_derived_from_postings(engine: AsyncEngine, paid: None) -> None:
    async with engine.connect() as conn:
        found = {b.code: b.balance for b in await balances(conn)}
    assert found == {
        "CHANNEL_RECEIVABLE:WECHAT:CNY": 12345,
        "CHANNEL_RECEIVABLE:ALIPAY:CNY": 1000,
        "BILLER_PAYABLE:BJWATER:CNY": -13345,
    }
    assert sum(found.values()) == 0
    assert await failures(engine) == {}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount * 2",
        "DELETE FROM postings",
        "UPDATE journal_entries SET memo = 'edited'",
        "DELETE FROM journal_entries",
        "TRUNCATE postings CASCADE",
    ],
)
async def test_the_ledger_is_append_only(engine: AsyncEngine, paid: None, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(statement))


async def test_an_unbalanced_entry_is_refused(engine: AsyncEngine, paid: None) -> None:
    async with engine.begin() as conn:
        entry = (
            await conn.execute(
                text(
                    "INSERT INTO journal_entries (biller_id, kind, created_at)"
                    " VALUES (1, 'PAYMENT', now()) RETURNING id"
                )
            )
        ).scalar_one()
    for postings in ("(1, :e, 1, 1, 100), (1, :e, 2, 3, -99)", "(1, :e, 1, 1, 100)"):
        with pytest.raises(DBAPIError, match="does not balance"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)"
                        f" VALUES {postings}"
                    ),
                    {"e": entry},
                )


async def test_a_final_payment_cannot_change_status(engine: AsyncEngine, paid: None) -> None:
    with pytest.raises(DBAPIError, match="final"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE payments SET status = 'FAILED', failure_code = 'X', receipt_no = NULL")
            )


CORRUPTIONS = {
    "entries_balance": [
        "INSERT INTO journal_entries (biller_id, kind, created_at) VALUES (1, 'PAYMENT', now())",
    ],
    "biller_payable_matches_payments": [
        "UPDATE postings SET amount = amount - 1 WHERE line_no = 2 AND entry_id = 1",
        "UPDATE postings SET amount = amount + 1 WHERE line_no = 1 AND entry_id = 1",
    ],
    "channel_receivable_matches_payments": [
        "UPDATE payments SET amount = amount + 5 WHERE order_id = 'ALI-1'",
    ],
    "no_bill_paid_twice": [
        "UPDATE payments SET bill_nos = bill_nos || '{B202610-0001}' WHERE order_id = 'ALI-1'",
    ],
    "paid_bills_have_their_payment": [
        "UPDATE bills SET status = 'UNPAID', payment_id = NULL, paid_at = NULL"
        " WHERE bill_no = 'B3'",
    ],
    "succeeded_payments_are_booked": [
        "DELETE FROM postings WHERE entry_id = 2",
        "DELETE FROM journal_entries WHERE id = 2",
    ],
    "payment_orders_name_their_payments": ["DELETE FROM payment_orders WHERE order_id = 'ALI-1'"],
    "payment_orders_name_their_payments ": [  # a claim whose payment is gone
        "DELETE FROM payments WHERE order_id = 'ALI-1'",
    ],
    "payment_orders_name_their_payments  ": [  # a claim naming another order's payment
        "UPDATE payment_orders SET order_id = 'ALI-2' WHERE order_id = 'ALI-1'",
    ],
    "succeeded_payments_are_booked ": [  # a payment that failed but kept its booking
        "UPDATE payments SET status = 'FAILED', failure_code = 'X', receipt_no = NULL"
        " WHERE order_id = 'ALI-1'",
    ],
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
async def test_check_finds_each_kind_of_corruption(
    engine: AsyncEngine, paid: None, name: str, world: Any
) -> None:
    found = await corrupted(engine, CORRUPTIONS[name])
    assert name.strip() in found, found
    assert all(found[name.strip()])


async def corrupted(engine: AsyncEngine, statements: list[str]) -> dict[str, list[str]]:
    """The checks that fail once ``statements`` ran past the guards (triggers off)."""
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await conn.execute(text(statement))
    return await failures(engine)


async def test_checks_run_without_nested_loops_and_leave_the_setting_as_it_was(
    engine: AsyncEngine,
) -> None:
    # A nested loop over a misestimated side made a check on fresh rows quadratic; the
    # checks plan without one, and the caller's planner is as it was afterwards.
    reports_the_setting = Check(
        "planner", "reports enable_nestloop", "SELECT current_setting('enable_nestloop')"
    )
    async with engine.begin() as conn:
        (result,) = await run_checks(conn, [reports_the_setting])
        assert result.violations == ["off"]
        assert await conn.scalar(text("SELECT current_setting('enable_nestloop')")) == "on"


async def test_ledger_post_refuses_an_entry_that_does_not_balance(
    engine: AsyncEngine, world: Any
) -> None:
    water: Biller = world["water"]
    receivable = world["wechat"].receivable_account_id
    with pytest.raises(DBAPIError, match="does not balance"):
        async with engine.begin() as conn:
            await flows.post(
                conn, biller_id=water.id, kind=flows.EntryKind.PAYMENT, at=START,
                lines=[(receivable, 100), (water.payable_account_id, -99)],
            )  # fmt: skip
    with pytest.raises(DBAPIError, match="an amount per account: 2 accounts, 1 amounts"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT ledger_post(:b, 'PAYMENT', now(), ARRAY[:r, :p]::integer[],"
                    " ARRAY[100::bigint])"
                ),
                {"b": water.id, "r": receivable, "p": water.payable_account_id},
            )
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM journal_entries")) == 0


async def test_an_owners_account_is_found_through_the_owner_index(
    engine: AsyncEngine, world: Any
) -> None:
    """Not by scanning ledger_accounts, where a large utility has a million prepaid balances.
    The lookup is planned inside ``ledger_account`` (a body with a FROM is not inlined), so
    auto_explain reports that plan, as a notice."""
    water: Biller = world["water"]
    plans: list[str] = []

    def keep(_: object, notice: asyncpg.PostgresLogMessage) -> None:
        plans.append(notice.message)

    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        raw.add_log_listener(keep)
        for setting in (
            "LOAD 'auto_explain'",
            "SET LOCAL auto_explain.log_min_duration = 0",
            "SET LOCAL auto_explain.log_nested_statements = on",
            "SET LOCAL auto_explain.log_level = notice",
            "SET LOCAL enable_seqscan = off",  # a test's table is small: could the index serve?
        ):
            await conn.execute(text(setting))
        found = await conn.scalar(
            text("SELECT ledger_account('BILLER_PAYABLE', :b)"), {"b": water.id}
        )
        raw.remove_log_listener(keep)
    lookup = [plan for plan in plans if "FROM ledger_accounts" in plan]
    assert found == water.payable_account_id
    assert len(lookup) == 1, plans
    # every condition is the index's: its one row is found, none filtered out
    assert "Index Scan using ledger_accounts_owner" in lookup[0], lookup[0]
    assert "Filter:" not in lookup[0], lookup[0]


def test_only_the_ledger_writes_journal_entries() -> None:
    """Every entry is made by ``ledger_post``. The migrations keep the bodies they once
    wrote (history), and the prepaid bench's baseline measures bare writes on purpose."""
    ledger = r"(?:journal_entries|postings)"
    writes = re.compile(  # SQL (INSERT, COPY) or SQLAlchemy Core (insert(t), t.insert())
        rf"\b(?:INSERT\s+INTO|COPY)\s+{ledger}\b|\binsert\(\s*{ledger}\s*\)|\b{ledger}\.insert\(",
        re.IGNORECASE,
    )
    root = Path(utilipay.__file__).parent.parent
    writers = {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.suffix in {".py", ".sql"} and "versions" not in path.parts
        and writes.search(path.read_text())
    }  # fmt: skip
    assert writers == {"utilipay/ledger/sql/post.sql", "utilipay_tools/bench/prepaid.py"}

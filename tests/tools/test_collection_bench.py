"""The collection benchmark's year, small: the counts it promises and the invariants a real
year keeps (a paid bill has its payment, of its amount, after it was issued and before the
data's moment; an unpaid one has none), and the patterns the reports are timed on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay_tools.bench import collection_data as data

ACCOUNTS = 2_000
POSTPAID = ACCOUNTS - ACCOUNTS // 100  # one in a hundred is prepaid: no bills

_INDEXES = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"


async def _one(engine: AsyncEngine, sql: str, **values: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), values)).scalar_one()


async def _all(engine: AsyncEngine, sql: str, **values: Any) -> dict[Any, Any]:
    async with engine.connect() as conn:
        return {row[0]: row[1] for row in (await conn.execute(text(sql), values)).all()}


@pytest.fixture
async def year(engine: AsyncEngine) -> data.Generated:
    indexes = await _one(engine, _INDEXES)
    steps: list[str] = []
    generated = await data.generate(engine, ACCOUNTS, 2026, steps.append)
    assert len(steps) == data.steps()
    assert await _one(engine, _INDEXES) == indexes  # every index dropped is built again
    return generated


async def test_the_year_has_the_promised_rows(engine: AsyncEngine, year: data.Generated) -> None:
    rows = year.rows
    assert rows["customer_accounts"] == ACCOUNTS
    assert rows["bills"] == 12 * POSTPAID
    assert rows["mandates"] == ACCOUNTS // 10
    assert rows["prepaid_accounts"] == ACCOUNTS // 100
    assert rows["payment_orders"] == rows["payments"]
    assert rows["vouchers"] == rows["voucher_redemptions"] > 0
    paid = await _one(engine, "SELECT count(*) FROM bills WHERE status = 'PAID'")
    top_ups = await _one(engine, "SELECT count(*) FROM payments WHERE purpose = 'prepaid_topup'")
    assert rows["payments"] == paid + top_ups
    assert 0 < top_ups <= ACCOUNTS // 100 * 24
    assert year.database_bytes > 0


async def test_a_paid_bill_has_one_payment_of_its_amount_and_an_unpaid_one_none(
    engine: AsyncEngine, year: data.Generated
) -> None:
    broken = await _one(
        engine,
        """
        SELECT count(*) FROM bills b
          LEFT JOIN payments p ON p.biller_id = b.biller_id AND p.id = b.payment_id
          LEFT JOIN voucher_redemptions v ON v.biller_id = p.biller_id AND v.payment_id = p.id
         WHERE (b.status = 'PAID') <> (p.id IS NOT NULL)
            OR p.status <> 'SUCCEEDED' OR p.bill_nos <> ARRAY[b.bill_no]
            OR p.account_no <> b.account_no OR p.finished_at <> b.paid_at
            OR p.finished_at <= b.issued_at OR p.finished_at > :as_of
            OR (p.purpose = 'bills' AND p.amount <> b.amount)
            OR (p.purpose = 'voucher' AND (v.face <> p.amount OR v.face - v.credit <> b.amount))
        """,
        as_of=year.as_of,
    )
    assert broken == 0
    orphans = await _one(
        engine,
        "SELECT count(*) FROM payments p WHERE p.purpose <> 'prepaid_topup' AND NOT EXISTS"
        " (SELECT 1 FROM bills b WHERE b.biller_id = p.biller_id AND b.payment_id = p.id)",
    )
    assert orphans == 0


async def test_every_row_refers_to_rows_that_exist(
    engine: AsyncEngine, year: data.Generated
) -> None:
    # the loads ran without their foreign-key triggers: the keys must hold all the same
    dangling = await _all(
        engine,
        """
        SELECT 'bills', count(*) FROM bills b WHERE NOT EXISTS (SELECT 1 FROM customer_accounts a
               WHERE a.biller_id = b.biller_id AND a.account_no = b.account_no)
        UNION ALL
        SELECT 'outlet payments', count(*) FROM outlet_payments o WHERE NOT EXISTS
               (SELECT 1 FROM payments p WHERE p.biller_id = o.biller_id AND p.id = o.payment_id)
        UNION ALL
        SELECT 'redemptions', count(*) FROM voucher_redemptions r WHERE NOT EXISTS
               (SELECT 1 FROM vouchers v WHERE (v.biller_id, v.batch_id, v.seq)
                                             = (r.biller_id, r.batch_id, r.seq))
        UNION ALL
        SELECT 'debits', count(*) FROM debits d WHERE NOT EXISTS
               (SELECT 1 FROM mandates m WHERE m.biller_id = d.biller_id AND m.id = d.mandate_id)
        """,
    )
    assert dangling == {"bills": 0, "outlet payments": 0, "redemptions": 0, "debits": 0}
    # an outlet's payments are of its own region's branch
    elsewhere = await _one(
        engine,
        "SELECT count(*) FROM outlet_payments op JOIN outlets o ON o.id = op.outlet_id"
        " JOIN billers b ON b.id = op.biller_id WHERE o.region <> b.region",
    )
    assert elsewhere == 0


async def test_auto_pay_debits_take_declines_or_skip_their_bill(
    engine: AsyncEngine, year: data.Generated
) -> None:
    outcomes = await _all(
        engine,
        """
        SELECT d.status || coalesce('/' || d.reason, ''), count(*) FROM debits d
          JOIN bills b ON b.biller_id = d.biller_id AND b.bill_no = d.bill_nos[1]
          LEFT JOIN payments p ON p.biller_id = d.biller_id AND p.order_id = d.id
         WHERE (d.status = 'SUCCEEDED') = (p.id IS NOT NULL AND p.id = b.payment_id)
           AND (d.reason IS DISTINCT FROM 'OVER_CAP' OR d.amount > (SELECT cap FROM mandates m
                                                      WHERE m.id = d.mandate_id))
         GROUP BY 1
        """,
    )
    assert sum(outcomes.values()) == year.rows["debits"]
    assert set(outcomes) == {"SUCCEEDED", "FAILED/DECLINED", "SKIPPED/OVER_CAP"}


async def test_the_patterns_the_reports_are_timed_on(
    engine: AsyncEngine, year: data.Generated
) -> None:
    paid = await _one(engine, "SELECT avg((status = 'PAID')::int) FROM bills")
    assert 0.88 < paid < 0.95
    classes = await _all(
        engine,
        """
        SELECT CASE WHEN p.purpose <> 'bills' THEN p.purpose
                    WHEN d.id IS NOT NULL THEN 'autopay'
                    WHEN o.kind IS NOT NULL THEN o.kind ELSE c.kind END, count(*)
          FROM payments p JOIN channels c ON c.id = p.channel_id
          LEFT JOIN debits d ON d.biller_id = p.biller_id AND d.id = p.order_id
          LEFT JOIN outlet_payments op ON op.biller_id = p.biller_id AND op.payment_id = p.id
          LEFT JOIN outlets o ON o.id = op.outlet_id
         GROUP BY 1
        """,
    )
    assert set(classes) == {"wallet", "bank", "pos", "shop", "counter", "voucher", "autopay",
                            "prepaid_topup"}  # fmt: skip
    aging = await _all(
        engine,
        """
        SELECT CASE WHEN :day - due_date <= 30 THEN '0-30' WHEN :day - due_date <= 60 THEN '31-60'
                    WHEN :day - due_date <= 90 THEN '61-90'
                    WHEN :day - due_date <= 180 THEN '91-180' ELSE '180+' END, count(*)
          FROM bills WHERE status = 'UNPAID' AND due_date < :day GROUP BY 1
        """,
        day=year.as_of.date(),
    )
    assert set(aging) == {"0-30", "31-60", "61-90", "91-180", "180+"}
    # what the overdue pass finds at the data's moment: the second cycle's December bills
    # a day overdue, about one account in ten
    overdue = await _one(
        engine,
        "SELECT count(*) FROM bills WHERE status = 'UNPAID'"
        " AND due_date BETWEEN date '2026-12-22' AND date '2026-12-25'",
    )
    assert 0.07 * ACCOUNTS < overdue < 0.14 * ACCOUNTS
    later = await _one(
        engine,
        "SELECT count(*) FROM payments WHERE finished_at > :as_of",
        as_of=year.as_of,
    )
    assert later == 0
    rolled = await _one(engine, "SELECT sum(payments) FROM payment_rollups")
    assert rolled == year.rows["payments"]  # the payments went through their rollup trigger

"""The rows the early-warning tests need: hosted bills issued, paid and overdue on given
days, a branch in another region, auto-pay debits and prepaid cuts as their areas write them."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import WATER_RULE
from tests.helpers import ACCOUNT, bill_line, import_bills
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.outbox.service import Event, emit


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


async def bill(
    engine: AsyncEngine,
    clock: FrozenClock,
    bill_no: str,
    *,
    issued: date,
    amount: int = 10_000,
    due: date = date(2026, 12, 31),
    account: str = ACCOUNT,
    paid: date | None = None,
    biller: str = "BJWATER",
) -> None:
    now = clock.now()
    clock.set(at(issued))
    line = bill_line(bill_no, account, amount, due=due.isoformat()).replace("BJWATER", biller, 1)
    report = await import_bills(engine, clock, line)
    clock.set(now)
    assert report.bills_added == 1
    if paid is not None:
        await pay(engine, bill_no, paid)


async def pay(engine: AsyncEngine, bill_no: str, on: date) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE bills SET status = 'PAID', payment_id = :p, paid_at = :at"
                " WHERE bill_no = :bill_no"
            ),
            {"p": f"P{bill_no}", "at": at(on, 12), "bill_no": bill_no},
        )


async def branch(engine: AsyncEngine, clock: FrozenClock, code: str, region: str) -> int:
    async with engine.begin() as conn:
        found = await billers_service.add_biller(
            conn, clock, code=code, name=f"{code} branch", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, account_hint="10 digits",
            region=region, parent_code="BJWATER", actor="test",
        )  # fmt: skip
    return found.id


async def debits(engine: AsyncEngine, biller_id: int, channel_id: int, *statuses: str) -> None:
    """An account's auto-pay debits, oldest first, with these final statuses."""
    async with engine.begin() as conn:
        for n, status in enumerate(statuses):
            await conn.execute(
                text(
                    "INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no,"
                    " purpose, bill_nos, amount, status, issued_at, planned_at, deadline,"
                    " source_index, rounds, created_at, finished_at)"
                    " VALUES (:b, :id, 'M1', :c, 'payer-1', :a, 'autopay', '{}', 100, :s,"
                    " now(), now(), now(), 0, 1, now(), now())"
                ),
                {"b": biller_id, "id": f"D{n:04d}", "c": channel_id, "a": ACCOUNT, "s": status},
            )


async def cuts(engine: AsyncEngine, biller_id: int, account: str, *days: date) -> None:
    """A prepaid account's cuts, as ``prepaid/cuts.py`` announces each."""
    async with engine.begin() as conn:
        await emit(
            conn,
            [
                Event(biller_id, "prepaid.cut", account, {"account_no": account}, at(d))
                for d in days
            ],
        )

"""A terminal's payments to a remote utility hold the float while the write-off is
PROCESSING, then TAKEN (written off) or RELEASED (failed, reversed); a terminal's prepaid
top-up takes the float like a bill (channel-api.md §11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.helpers import ACCOUNT, counts, payment_body
from tests.outlets.conftest import Shop
from tests.payments.test_remote_payments import resolve_until_final, status_of, worker
from tests.prepaid.test_prepaid_topup import account, books_hold, open_account
from tests.utility import CODE, Utility
from utilipay.clock import FrozenClock

REMOTE_BILL = 4250  # RB-1: 42 yuan and 0.50 late fee
__all__ = ["worker"]  # the remote payment tests' worker, a fixture here too


async def pay_remote(shop: Shop, order: str = "T-R1", **more: Any) -> Any:
    body = payment_body(order, biller=CODE, account=REMOTE_ACCOUNT, amount=REMOTE_BILL,
                        bill_nos=["RB-1"]) | more  # fmt: skip
    return await shop.client().call("POST", "/v1/payments", json=body)


async def float_state(engine: AsyncEngine, payment_id: str) -> str:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT float_state FROM outlet_payments WHERE payment_id = :p"),
            {"p": payment_id},
        )
    return str(found)


async def test_a_remote_write_off_confirmed_at_once_is_taken_from_the_float(
    shop: Shop, utility: Utility, engine: AsyncEngine
) -> None:
    await shop.deposit(10000)
    r = await pay_remote(shop)
    assert r.status_code == 201 and r.json()["status"] == "SUCCEEDED"
    assert await shop.float() == (10000 - REMOTE_BILL, 0)
    assert await float_state(engine, r.json()["id"]) == "TAKEN"
    await books_hold(engine)


async def test_an_unknown_outcome_holds_the_float_until_it_is_resolved_as_written_off(
    shop: Shop, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    await shop.deposit(5000)
    utility.fail_with("drop_response=1")
    pending = (await pay_remote(shop)).json()
    assert pending["status"] == "PROCESSING"
    assert await shop.float() == (5000, REMOTE_BILL)
    assert await float_state(engine, pending["id"]) == "HELD"
    outlet = (await shop.client().call("GET", "/v1/outlet")).json()
    assert outlet["float"] == {"balance": 5000, "held": REMOTE_BILL, "low_threshold": 0}
    await books_hold(engine)  # held = its HELD payments; nothing booked yet
    await utility.bill("0300000002", "RB-2", 1000)  # 10 yuan: more than the 7.50 free
    refused = await pay_remote(shop, "T-R2", account="0300000002", amount=1000,
                               bill_nos=["RB-2"])  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (409, "FLOAT_INSUFFICIENT")
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert row.status == "SUCCEEDED"
    assert await shop.float() == (5000 - REMOTE_BILL, 0)
    assert await float_state(engine, pending["id"]) == "TAKEN"
    await books_hold(engine)


async def test_a_refused_write_off_releases_the_hold(
    shop: Shop, utility: Utility, engine: AsyncEngine
) -> None:
    await shop.deposit(10000)
    failed = (await pay_remote(shop, amount=4200)).json()  # without the late fee
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "AMOUNT_MISMATCH")
    assert await shop.float() == (10000, 0)
    assert await float_state(engine, failed["id"]) == "RELEASED"
    await books_hold(engine)


async def test_a_write_off_reversed_at_the_deadline_releases_the_hold(
    shop: Shop, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    await shop.deposit(5000)
    utility.fail_with("drop_response=1")  # written off over there, the reply lost
    pending = (await pay_remote(shop)).json()
    utility.fail_with("error=1")  # and then nothing but 9999 until the deadline
    clock.set((await status_of(engine, pending["id"])).resolve_by)
    await worker.resolve_payments()  # the decision to reverse, committed first
    row = await status_of(engine, pending["id"])
    assert (row.status, row.resolution) == ("PROCESSING", "REVERSING")
    assert await shop.float() == (5000, REMOTE_BILL)  # still held: nothing is guessed
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (row.status, row.failure_code) == ("FAILED", "REVERSED")
    assert await shop.float() == (5000, 0)
    assert await float_state(engine, pending["id"]) == "RELEASED"
    await books_hold(engine)
    clock.advance(timedelta(minutes=1))  # the float freed pays the bill again
    again = await pay_remote(shop, "T-R3")
    assert again.json()["status"] == "SUCCEEDED"
    assert await shop.float() == (5000 - REMOTE_BILL, 0)


async def test_a_terminal_top_up_takes_the_float_or_is_refused_writing_nothing(
    shop: Shop, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await open_account(engine, clock)
    await shop.deposit(4999)
    top_up = payment_body("T-TOPUP", amount=5000, bill_nos=..., account=ACCOUNT)
    before = await counts(engine)
    refused = await shop.client().call("POST", "/v1/payments", json=top_up)
    assert (refused.status_code, refused.json()["code"]) == (409, "FLOAT_INSUFFICIENT")
    assert await counts(engine) == before
    assert (await account(engine)).balance == 0
    await shop.deposit(1001)
    r = await shop.client().call("POST", "/v1/payments", json=top_up)
    assert r.status_code == 201, r.text
    assert (r.json()["purpose"], r.json()["outlet"]) == ("prepaid_topup", "SHOP1")
    assert await shop.float() == (1000, 0)
    assert (await account(engine)).balance == 5000
    assert await float_state(engine, r.json()["id"]) == "TAKEN"
    await books_hold(engine)  # the PREPAID_TOPUP entry debits the float

"""Paying a remote utility over the biller protocol; unknown outcomes resolved, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT as ACCOUNT
from tests.conftest import AdminHeaders
from tests.utility import CODE, Utility, remote_utility
from utilipay.access.scopes import Scope
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.service import RemoteSettings
from utilipay.clock import FrozenClock
from utilipay.payments import outcomes
from utilipay.runtime.books import check_books
from utilipay.worker.context import WorkerContext
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def worker(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> AsyncIterator[Any]:
    context = WorkerContext(engine=engine, clock=clock, directory=hub.directory)
    yield context
    await context.close_clients()


def body(order: str = "WX-R1", **more: Any) -> dict[str, Any]:
    return {
        "order_id": order,
        "biller": CODE,
        "account": ACCOUNT,
        "amount": 4250,
        "bill_nos": ["RB-1"],
        "payer": "wx-openid-remote",
    } | more


async def pay(client: ChannelClient, **more: Any) -> dict[str, Any]:
    r = await client.call("POST", "/v1/payments", json=body(**more))
    assert r.status_code in (200, 201), r.text
    found: dict[str, Any] = r.json()
    return found


async def status_of(engine: AsyncEngine, payment_id: str) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT * FROM payments WHERE id = :id"), {"id": payment_id})
        ).one()


async def resolve_until_final(
    worker: Any, clock: FrozenClock, engine: AsyncEngine, pid: str
) -> Any:
    for _ in range(60):
        row = await status_of(engine, pid)
        if row.status != "PROCESSING" or row.resolution == "EXCEPTION":
            return row
        clock.set(max(clock.now(), row.next_check_at))
        await worker.resolve_payments()
    raise AssertionError("never resolved")


async def trancodes(engine: AsyncEngine, payment_id: str) -> list[str]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT trancode FROM biller_calls WHERE payment_id = :p ORDER BY id"),
            {"p": payment_id},
        )
        return list(found.scalars())


async def books_balance(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert all(r.passed for r in await check_books(conn)), [
            r.violations for r in await check_books(conn) if not r.passed
        ]


async def test_a_payment_is_written_off_at_the_utility(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine
) -> None:
    paid = await pay(wechat)
    assert paid["status"] == "SUCCEEDED"
    assert paid["biller_serial"] and paid["receipt_no"].startswith("R20261122")
    assert (await utility.sim.standing_write_offs()) == {paid["id"]: True}
    await books_balance(engine)
    again = await wechat.call("POST", "/v1/payments", json=body())
    assert again.status_code == 200 and again.json() == paid


async def test_without_bill_nos_the_utility_is_asked_what_is_due(
    wechat: ChannelClient, utility: Utility
) -> None:
    await utility.bill("0300000002", "RB-2", 1000)
    paid = await pay(wechat, account="0300000002", bill_nos=None, amount=1000)
    assert (paid["status"], paid["bill_nos"]) == ("SUCCEEDED", ["RB-2"])
    r = await wechat.call(
        "POST", "/v1/payments", json=body("WX-R9", account="0300000002", bill_nos=None, amount=1)
    )
    assert (r.status_code, r.json()["code"]) == (422, "NO_BILL_DUE")


async def test_bills_and_bindings_are_read_live(wechat: ChannelClient, utility: Utility) -> None:
    bills = await wechat.call("GET", "/v1/bills", params={"biller": CODE, "account": ACCOUNT})
    assert bills.status_code == 200
    assert bills.json()["bills"] == [
        {"bill_no": "RB-1", "period": "2026-10", "amount": 4200, "late_fee": 50,
         "due_date": "2026-11-30"}
    ]  # fmt: skip
    assert bills.json()["total"] == 4250
    bound = await wechat.call(
        "POST", "/v1/bindings", json={"payer": "p", "biller": CODE, "account": ACCOUNT}
    )
    assert bound.status_code == 201
    missing = await wechat.call(
        "GET", "/v1/bills", params={"biller": CODE, "account": "0399999999"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")
    utility.fail_with("error=1")
    down = await wechat.call("GET", "/v1/bills", params={"biller": CODE, "account": ACCOUNT})
    assert (down.status_code, down.json()["code"]) == (503, "BILLER_UNAVAILABLE")


async def test_a_final_refusal_fails_the_payment_and_frees_the_bill(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine
) -> None:
    failed = await pay(wechat, amount=4200)  # without the late fee
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "AMOUNT_MISMATCH")
    paid = await pay(wechat, order="WX-R2")  # the claim on RB-1 was released
    assert paid["status"] == "SUCCEEDED"
    await books_balance(engine)


async def test_a_lost_reply_is_resolved_by_confirm(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    utility.fail_with("drop_response=1")
    pending = await pay(wechat)
    assert pending["status"] == "PROCESSING"  # written off over there; nobody knows yet
    assert "receipt_no" in pending and pending["receipt_no"] is None
    assert (await utility.sim.standing_write_offs()) == {pending["id"]: True}
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (row.status, row.biller_serial is not None) == ("SUCCEEDED", True)
    after = await wechat.call("GET", f"/v1/payments/{pending['id']}")
    assert after.json()["status"] == "SUCCEEDED"
    await books_balance(engine)


async def test_a_charge_that_never_arrived_is_sent_again(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    utility.fail_with("error=1")  # 9999: nothing processed
    pending = await pay(wechat)
    assert pending["status"] == "PROCESSING"
    assert await utility.sim.standing_write_offs() == {}
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert row.status == "SUCCEEDED"
    async with engine.connect() as conn:
        calls = (
            await conn.execute(
                text(
                    "SELECT trancode, outcome FROM biller_calls WHERE payment_id = :p ORDER BY id"
                ),
                {"p": pending["id"]},
            )
        ).all()
    assert [tuple(c) for c in calls] == [
        ("charge", "9999"), ("confirm", "0000"), ("charge", "0000")
    ]  # fmt: skip


async def test_unknown_at_the_deadline_is_reversed_and_only_then_failed(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    utility.fail_with("drop_response=1")
    pending = await pay(wechat)  # written off, reply lost
    utility.fail_with("error=1")  # and then the utility answers nothing but 9999
    for _ in range(3):
        row = await status_of(engine, pending["id"])
        clock.set(row.next_check_at)
        await worker.resolve_payments()
    assert (await status_of(engine, pending["id"])).status == "PROCESSING"
    clock.set((await status_of(engine, pending["id"])).resolve_by)  # the deadline passes
    await worker.resolve_payments()  # the confirm fails: the decision to reverse is committed
    row = await status_of(engine, pending["id"])
    assert (row.status, row.resolution) == ("PROCESSING", "REVERSING")
    assert "refund" not in await trancodes(engine, pending["id"])  # write-ahead: none sent yet
    await worker.resolve_payments()  # the refund fails too: never FAILED on a guess
    row = await status_of(engine, pending["id"])
    assert (row.status, row.resolution) == ("PROCESSING", "REVERSING")
    assert (await trancodes(engine, pending["id"]))[-1] == "refund"
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (row.status, row.failure_code) == ("FAILED", "REVERSED")
    assert row.reversed_at is not None and row.biller_serial is not None
    assert await utility.sim.standing_write_offs() == {pending["id"]: False}
    await books_balance(engine)


async def test_a_reversal_before_the_charge_blocks_the_late_charge(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    utility.fail_with("error=1")
    pending = await pay(wechat)
    clock.set((await status_of(engine, pending["id"])).resolve_by)
    utility.fail_with("")
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (row.status, row.failure_code) == ("FAILED", "NOT_WRITTEN_OFF")
    assert row.reversed_at is None  # nothing was written off: no statement line
    assert await utility.sim.standing_write_offs() == {pending["id"]: False}  # blocked


async def test_an_unfinishable_reversal_goes_to_people(
    wechat: ChannelClient,
    utility: Utility,
    engine: AsyncEngine,
    worker: Any,
    clock: FrozenClock,
    http: Any,
    admin_headers: AdminHeaders,
) -> None:
    utility.fail_with("drop_response=1")
    pending = await pay(wechat)
    utility.fail_with("error=1")
    clock.set((await status_of(engine, pending["id"])).resolve_by)
    row = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (row.status, row.resolution) == ("PROCESSING", "EXCEPTION")
    assert row.refund_attempts == 2  # the third unanswered refund opened the exception

    alice = await admin_headers(Scope.OPS_READ, Scope.OPS_WRITE, name="alice")
    listed = await http.get("/admin/v1/exceptions", headers=alice)
    (item,) = listed.json()["exceptions"]
    assert item["payment_id"] == pending["id"] and "refund unanswered" in item["reason"]
    assert (item["kind"], item["outcomes"]) == (
        "REVERSAL", ["WRITTEN_OFF", "NOT_WRITTEN_OFF", "RETRY"]
    )  # fmt: skip
    refused = await http.get("/admin/v1/exceptions", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    resolved = await http.post(
        f"/admin/v1/exceptions/{item['id']}/resolve",
        headers=alice,
        json={"outcome": "WRITTEN_OFF", "reason": "utility ops (Li) confirmed by phone",
              "biller_serial": "MANUAL-1"},
    )  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert resolved.json() == {
        "id": item["id"], "outcome": "WRITTEN_OFF", "payment": "SUCCEEDED", "resolved_by": "alice"
    }  # fmt: skip
    row = await status_of(engine, pending["id"])
    assert (row.status, row.biller_serial) == ("SUCCEEDED", "MANUAL-1")
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text("SELECT actor, reason FROM audit_log WHERE action = 'exception.resolve'")
            )
        ).one()
    assert tuple(audit) == ("alice", "utility ops (Li) confirmed by phone")
    await books_balance(engine)


async def test_two_payments_for_one_remote_bill(
    wechat: ChannelClient, alipay: ChannelClient, utility: Utility, engine: AsyncEngine
) -> None:
    utility.fail_with("slow=1")  # both are in flight at once
    results = await asyncio.gather(
        wechat.call("POST", "/v1/payments", json=body("WX-A")),
        alipay.call("POST", "/v1/payments", json=body("ALI-B")),
    )
    codes = sorted((r.status_code, r.json().get("code") or r.json()["status"]) for r in results)
    assert codes == [(201, "SUCCEEDED"), (409, "BILL_ALREADY_PAID")]
    await books_balance(engine)


@pytest.mark.parametrize("sign_type", list(SignType))
async def test_both_signature_schemes_and_a_key_rotation(
    engine: AsyncEngine,
    db_url: URL,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    worker: Any,
    sign_type: SignType,
) -> None:
    async with remote_utility(engine, db_url, clock, hub, sign_type=sign_type) as utility:
        await utility.bill(ACCOUNT, "RB-1", 4250)
        # the hub moves to a key the utility does not know yet: answers cannot be verified
        async with engine.begin() as conn:
            await billers_service.update_biller(
                conn, clock, CODE, remote=RemoteSettings(key="next-key-0123456789"), actor="t"
            )
        await hub.directory.reload()
        pending = await pay(wechat)
        assert pending["status"] == "PROCESSING"  # a reply we cannot trust is an unknown
        async with engine.begin() as conn:  # roll the key back; the old one still works
            await billers_service.update_biller(
                conn, clock, CODE,
                remote=RemoteSettings(key=utility.sim.config.key, retire_previous_key=True),
                actor="t",
            )  # fmt: skip
        await hub.directory.reload()
        worker.directory = hub.directory
        row = await resolve_until_final(worker, clock, engine, pending["id"])
        assert row.status == "SUCCEEDED"


async def test_once_reversing_no_late_success_is_believed(
    wechat: ChannelClient, utility: Utility, engine: AsyncEngine, worker: Any, clock: FrozenClock
) -> None:
    """A charge answer that arrives after the reversal began (the API was slow, a delayed
    reply) cannot make the payment SUCCEEDED: the refund in flight would undo it."""
    utility.fail_with("error=1")
    pending = await pay(wechat)
    clock.set((await status_of(engine, pending["id"])).resolve_by)
    await worker.resolve_payments()  # the decision to reverse is committed
    row = await status_of(engine, pending["id"])
    assert row.resolution == "REVERSING"
    async with engine.begin() as conn:
        assert await outcomes.succeed(conn, row, "W-LATE", clock.now(), "late charge 0000") is None
        await outcomes.wait(conn, row, "CONFIRMING", timedelta(0), clock.now(), "late unknown")
    row = await status_of(engine, pending["id"])
    assert (row.status, row.resolution) == ("PROCESSING", "REVERSING")
    utility.fail_with("")
    final = await resolve_until_final(worker, clock, engine, pending["id"])
    assert (final.status, final.failure_code) == ("FAILED", "NOT_WRITTEN_OFF")

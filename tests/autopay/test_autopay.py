"""Auto-pay (自动缴费): mandates, the debit engine and the channel's side, through the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bindings.sms import bind_by_sms, give_phone
from tests.helpers import bill_line, bind_verified, import_bills, payment_body
from tests.utility import CODE, remote_utility
from utilipay.billers import service as billers_service
from utilipay.billers.service import AutopaySettings
from utilipay.billing import latefee_service
from utilipay.billing.latefees import LateFeeRule
from utilipay.calendar.windows import is_open
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.errors import DomainError
from utilipay.runtime.books import check_books
from utilipay.worker.context import WorkerContext
from utilipay_tools.channelsim.outcomes import OutcomePlan
from utilipay_tools.client import ChannelClient

ACCOUNT = "0112345678"
SOURCES = [{"id": "card-1", "label": "储蓄卡(1234)"}, {"id": "balance", "label": "余额"}]


def sh(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=SHANGHAI)


async def bind(
    client: ChannelClient, payer: str, account: str = ACCOUNT, biller: str = "BJWATER"
) -> dict[str, Any]:
    """The seed rule: a payer binds the account number first, verified, then signs auto-pay."""
    return await bind_verified(client, payer, biller, account)


async def sign(wechat: ChannelClient, *, bound: bool = False, **more: Any) -> dict[str, Any]:
    """A mandate signed, the account bound (verified by its holder's name) unless ``bound``."""
    body = {"payer": "wx-payer", "biller": "BJWATER", "account": ACCOUNT,
            "funding_sources": SOURCES} | more  # fmt: skip
    if not bound:
        await bind(wechat, body["payer"], body["account"], body["biller"])
    r = await wechat.call("POST", "/v1/mandates", json=body)
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def debits(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text("SELECT * FROM debits ORDER BY created_at, id")))


async def attempts(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT funding_source, kind, result FROM debit_attempts ORDER BY attempt")
        )
        return [tuple(r) for r in rows]


async def events(engine: AsyncEngine, prefix: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                text(
                    "SELECT event_type, payload FROM outbox_events WHERE event_type LIKE :p"
                    " ORDER BY id"
                ),
                {"p": f"{prefix}%"},
            )
        )


async def run_until(autopay: WorkerContext, clock: FrozenClock, until: datetime) -> None:
    """Run the engine as the worker would, jumping from one due moment to the next."""
    while True:
        await autopay.run_autopay()
        async with autopay.engine.connect() as conn:
            due = (
                await conn.execute(
                    text(
                        "SELECT min(next_attempt_at) FROM debits"
                        " WHERE status IN ('SCHEDULED', 'SENT')"
                    )
                )
            ).scalar_one()
        if due is None or due > until:
            clock.set(max(clock.now(), until))
            return
        clock.set(max(clock.now(), due))


async def books_balance(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert all(r.passed for r in await check_books(conn))


# ------------------------------------------------------------ mandates (§8)


async def test_signing_listing_changing_and_cancelling(
    wechat: ChannelClient, alipay: ChannelClient, autopay: Any, engine: AsyncEngine, clock: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    mandate = await sign(wechat)
    assert mandate["id"].startswith("M") and mandate["status"] == "ACTIVE"
    assert mandate["cap"] == 100000  # the biller's default: 1,000 yuan
    assert mandate["funding_sources"] == SOURCES
    assert mandate["signed_at"] == "2026-11-23T09:00:00+08:00"

    second = {"payer": "another", "biller": "BJWATER", "account": ACCOUNT,
              "funding_sources": SOURCES}  # fmt: skip
    await bind(wechat, "another")
    again = await wechat.call("POST", "/v1/mandates", json=second)
    assert (again.status_code, again.json()["code"]) == (409, "MANDATE_EXISTS")
    listed = await wechat.call("GET", "/v1/mandates", params={"payer": "wx-payer"})
    assert [m["id"] for m in listed.json()["mandates"]] == [mandate["id"]]
    assert (await alipay.call("GET", f"/v1/mandates/{mandate['id']}")).status_code == 403

    changed = await wechat.call(
        "PATCH",
        f"/v1/mandates/{mandate['id']}",
        json={"funding_sources": SOURCES[::-1], "cap": 50000},
    )
    assert changed.status_code == 200
    assert changed.json()["funding_sources"][0]["id"] == "balance"
    assert changed.json()["cap"] == 50000
    over = await wechat.call("PATCH", f"/v1/mandates/{mandate['id']}", json={"cap": 500001})
    assert (over.status_code, over.json()["code"]) == (422, "AMOUNT_OUT_OF_RANGE")

    gone = await wechat.call("DELETE", f"/v1/mandates/{mandate['id']}")
    assert gone.status_code == 200 and gone.json()["status"] == "CANCELLED"
    assert (await wechat.call("DELETE", f"/v1/mandates/{mandate['id']}")).json() == gone.json()
    late = await wechat.call("PATCH", f"/v1/mandates/{mandate['id']}", json={"cap": 100})
    assert (late.status_code, late.json()["code"]) == (409, "MANDATE_NOT_ACTIVE")
    # once cancelled, the account can be signed again
    assert (await sign(wechat, payer="another"))["status"] == "ACTIVE"
    signed = [e.event_type for e in await events(engine, "mandate.")]
    assert signed == ["mandate.signed", "mandate.cancelled", "mandate.signed"]


async def test_each_biller_sets_its_own_caps_and_notice(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: Any, hub: Any
) -> None:
    async with engine.begin() as conn:
        await billers_service.update_biller(
            conn, clock, "BJWATER", actor="t",
            autopay=AutopaySettings(default_cap=20000, max_cap=30000, debit_notice_s=0),
        )  # fmt: skip
        for wrong, says in (
            (AutopaySettings(default_cap=40000), "above the maximum cap"),
            (AutopaySettings(max_cap=10**12), "above the largest payment"),
            (AutopaySettings(debit_notice_s=2 * 86400), "between 0 and 1 day"),
            (AutopaySettings(poll_s=0), "must be positive"),
        ):
            with pytest.raises(DomainError, match=says):
                await billers_service.update_biller(conn, clock, "BJWATER", autopay=wrong,
                                                    actor="t")  # fmt: skip
    await hub.directory.reload()
    await import_bills(engine, clock, bill_line("B0"))  # arrears from before signing
    assert (await sign(wechat))["cap"] == 20000
    over = await wechat.call("PATCH", "/v1/mandates/" + (await sign_id(engine)),
                             json={"cap": 30001})  # fmt: skip
    assert (over.status_code, over.json()["code"]) == (422, "AMOUNT_OUT_OF_RANGE")
    # no notice period: the debit is due the moment its bill is issued (on a Monday morning)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=15000))
    await autopay.run_autopay()
    (debit,) = await debits(engine)
    assert debit.planned_at == clock.now() and debit.status == "SUCCEEDED"


async def sign_id(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        found: str = (await conn.execute(text("SELECT id FROM mandates"))).scalar_one()
        return found


async def test_a_mandate_is_signed_only_for_an_account_the_payer_bound_at_that_channel(
    wechat: ChannelClient, alipay: ChannelClient, autopay: Any, engine: AsyncEngine, clock: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"), bill_line("B1", "0112345679"))
    body = {"payer": "wx-payer", "biller": "BJWATER", "account": ACCOUNT,
            "funding_sources": SOURCES}  # fmt: skip

    async def refused() -> None:
        r = await wechat.call("POST", "/v1/mandates", json=body)
        assert (r.status_code, r.json()["code"]) == (409, "BINDING_REQUIRED"), r.text
        assert "bind" in r.json()["detail"]

    await refused()  # never bound
    await bind(wechat, "someone-else")  # another payer's binding
    await bind(alipay, "wx-payer")  # the payer, at another channel
    await bind(wechat, "wx-payer", "0112345679")  # the payer's other account
    await refused()
    binding = await bind(wechat, "wx-payer")
    assert (await wechat.call("DELETE", f"/v1/bindings/{binding['id']}")).status_code == 204
    await refused()  # unbound again
    assert await events(engine, "mandate.") == []
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM mandates"))).scalar_one() == 0
    assert (await sign(wechat))["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("more", "status", "code"),
    [
        ({"cap": 500001}, 422, "AMOUNT_OUT_OF_RANGE"),
        ({"cap": 0}, 422, "AMOUNT_OUT_OF_RANGE"),
        ({"cap": 100.5}, 400, "MALFORMED_REQUEST"),
        ({"funding_sources": []}, 400, "MALFORMED_REQUEST"),
        ({"funding_sources": [{"id": "a"}] * 6}, 400, "MALFORMED_REQUEST"),
        ({"funding_sources": [{"id": "a"}, {"id": "a"}]}, 400, "MALFORMED_REQUEST"),
        ({"account": "0900000000"}, 404, "ACCOUNT_NOT_FOUND"),
        ({"account": "12"}, 422, "INVALID_ACCOUNT"),
    ],
)
async def test_signing_refusals(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: Any,
    more: dict[str, Any], status: int, code: str,
) -> None:  # fmt: skip
    await import_bills(engine, clock, bill_line("B0"))
    await bind(wechat, "p")
    body = {"payer": "p", "biller": "BJWATER", "account": ACCOUNT, "funding_sources": SOURCES}
    r = await wechat.call("POST", "/v1/mandates", json=body | more)
    assert (r.status_code, r.json()["code"]) == (status, code)


async def test_a_channel_without_a_debit_url_cannot_sign(
    alipay: ChannelClient, engine: AsyncEngine, clock: Any, world: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    body = {"payer": "p", "biller": "BJWATER", "account": ACCOUNT, "funding_sources": SOURCES}
    r = await alipay.call("POST", "/v1/mandates", json=body)
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")


# ------------------------------------------------------------ the engine


async def test_a_new_bill_is_debited_and_written_off(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    await import_bills(engine, clock, bill_line("B-OLD", amount=100))  # before signing
    mandate = await sign(wechat)
    clock.advance(timedelta(minutes=30))
    await import_bills(engine, clock, bill_line("B-NEW", amount=8800, late_fee=0))
    await autopay.run_autopay()
    (debit,) = await debits(engine)
    assert (debit.status, debit.bill_nos, debit.amount) == ("SCHEDULED", ["B-NEW"], 8800)
    assert debit.planned_at == sh("2026-11-23 11:30")  # two hours' notice
    assert debit.deadline == sh("2026-11-25 22:00")  # the third working day
    (notice,) = await events(engine, "debit.scheduled")
    assert notice.payload["planned_at"] == "2026-11-23T11:30:00+08:00"

    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    (debit,) = await debits(engine)
    assert debit.status == "SUCCEEDED" and debit.payment_id is not None
    sim = wallet[0]
    assert [(e.debit_id, e.funding_source, e.amount) for e in sim.ledger()] == [
        (debit.id, "card-1", 8800)
    ]
    async with engine.connect() as conn:
        payment = (
            await conn.execute(text("SELECT * FROM payments WHERE order_id = :d"), {"d": debit.id})
        ).one()
        bill = (await conn.execute(text("SELECT status FROM bills WHERE bill_no = 'B-NEW'"))).one()
    assert (payment.status, payment.bill_nos, bill.status) == ("SUCCEEDED", ["B-NEW"], "PAID")
    (done,) = await events(engine, "debit.succeeded")
    assert done.payload["receipt_no"] == payment.receipt_no
    assert (done.payload["funding_source"], done.payload["payment_id"]) == ("card-1", payment.id)
    history = await wechat.call("GET", f"/v1/mandates/{mandate['id']}/debits")
    (item,) = history.json()["debits"]
    assert (item["status"], item["attempts"][0]["result"]) == ("SUCCEEDED", "SUCCEEDED")
    await books_balance(engine)


async def test_a_bill_past_due_is_debited_with_its_late_fee_of_the_day(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B-OLD", amount=100))  # before signing
    await sign(wechat)
    rule = LateFeeRule(date(2026, 1, 1), None, Decimal(1), grace_days=5)
    async with engine.begin() as conn:
        await latefee_service.add_rule(conn, clock, "BJWATER", rule, actor="t", reason="")
    clock.advance(timedelta(minutes=30))
    await import_bills(engine, clock, bill_line("B-LATE", amount=10000, late_fee=30,
                                                 due="2026-11-01"))  # fmt: skip
    await autopay.run_autopay()
    (debit,) = await debits(engine)
    # 11-23: 22 days overdue, 17 charged after 5 of grace: 10000 × 1‰ × 17, plus 30 imported
    assert (debit.bill_nos, debit.amount) == (["B-LATE"], 10000 + 170 + 30)


async def test_over_the_cap_is_skipped_and_told(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat, cap=5000)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B-BIG", amount=5001))
    await autopay.run_autopay()
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("SKIPPED", "OVER_CAP")
    (skipped,) = await events(engine, "debit.skipped")
    assert skipped.payload["cap"] == 5000


async def test_a_cap_lowered_after_scheduling_holds_at_sending(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    mandate = await sign(wechat, cap=10000)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=8800))
    await autopay.run_autopay()
    assert [d.status for d in await debits(engine)] == ["SCHEDULED"]
    lowered = await wechat.call("PATCH", f"/v1/mandates/{mandate['id']}", json={"cap": 5000})
    assert lowered.status_code == 200
    await run_until(autopay, clock, sh("2026-11-24 12:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("SKIPPED", "OVER_CAP")
    assert wallet[0].ledger() == ()  # nothing was asked of the channel
    (skipped,) = await events(engine, "debit.skipped")
    assert (skipped.payload["cap"], skipped.payload["reason"]) == (5000, "OVER_CAP")


async def test_funding_sources_are_tried_in_priority_order(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    wallet[0].outcomes = OutcomePlan.parse("card-1=insufficient,balance=success")
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=300))
    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    assert await attempts(engine) == [
        ("card-1", "debit", "INSUFFICIENT_FUNDS"), ("balance", "debit", "SUCCEEDED")
    ]  # fmt: skip
    assert (await debits(engine))[0].status == "SUCCEEDED"


async def test_all_declined_is_retried_next_working_day_then_given_up(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    wallet[0].outcomes = OutcomePlan.parse("*=declined")
    clock.set(sh("2026-09-30 09:00"))  # the eve of National Day
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=300))
    await run_until(autopay, clock, sh("2026-10-12 00:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("FAILED", "ALL_SOURCES_FAILED")
    async with engine.connect() as conn:
        times = [
            r.at.astimezone(SHANGHAI)
            for r in await conn.execute(text("SELECT at FROM debit_attempts ORDER BY attempt"))
        ]
    # Sep 30, then (the holiday skipped) Oct 8; the window ends on Oct 8 (Sep 30, Oct 8, 9? no:
    # the third working day is Oct 9): three rounds of two sources
    assert [t.date().isoformat() for t in times[::2]] == ["2026-09-30", "2026-10-08", "2026-10-09"]
    assert all(is_open(t) for t in times)
    assert (await events(engine, "debit.failed"))[0].payload["reason"] == "ALL_SOURCES_FAILED"


async def test_processing_and_timeouts_are_asked_never_debited_twice(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    sim = wallet[0]
    sim.outcomes = OutcomePlan.parse("card-1=timeout")
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=300), bill_line("B2", amount=400))
    await autopay.run_autopay()
    clock.set(sh("2026-11-23 11:01"))
    await autopay.run_autopay()  # the debits went; no answer within the hub's timeout
    assert {d.status for d in await debits(engine)} == {"SENT"}
    sim.outcomes = OutcomePlan.parse("card-1=processing")
    await run_until(autopay, clock, sh("2026-11-23 13:00"))
    assert {d.status for d in await debits(engine)} == {"SUCCEEDED"}
    assert sim.taken_twice() == []
    assert len(sim.ledger()) == 2
    kinds = [a[1] for a in await attempts(engine)]
    assert kinds.count("debit") == 2 and "query" in kinds
    await books_balance(engine)


async def test_a_bill_paid_by_hand_cancels_its_debit(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await autopay.run_autopay()
    paid = await wechat.call("POST", "/v1/payments", json=payment_body())
    assert paid.status_code == 201
    await run_until(autopay, clock, sh("2026-11-24 12:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("CANCELLED", "PAID_BY_HAND")
    assert wallet[0].ledger() == ()


async def test_cancelling_the_mandate_cancels_debits_not_yet_sent(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    mandate = await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=300))
    await autopay.run_autopay()
    await wechat.call("DELETE", f"/v1/mandates/{mandate['id']}")
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("CANCELLED", "MANDATE_CANCELLED")
    await run_until(autopay, clock, sh("2026-11-26 00:00"))
    assert wallet[0].ledger() == ()


async def test_money_taken_for_a_bill_paid_meanwhile_is_refunded_by_the_channel(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    """The debit is in flight (PROCESSING) when the payer pays the bill by hand: the money
    the debit took cannot write the bill off, so a FAILED payment tells the channel to refund."""
    wallet[0].outcomes = OutcomePlan.parse("card-1=processing")
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await autopay.run_autopay()
    clock.set(sh("2026-11-23 11:01"))
    await autopay.run_autopay()  # PROCESSING at the channel
    assert (await debits(engine))[0].status == "SENT"
    assert (await wechat.call("POST", "/v1/payments", json=payment_body())).status_code == 201
    await run_until(autopay, clock, sh("2026-11-23 13:00"))
    (debit,) = await debits(engine)
    assert (debit.status, debit.reason) == ("FAILED", "WRITE_OFF_REFUSED")
    async with engine.connect() as conn:
        refused = (
            await conn.execute(text("SELECT * FROM payments WHERE order_id = :d"), {"d": debit.id})
        ).one()
    assert (refused.status, refused.failure_code) == ("FAILED", "BILL_ALREADY_PAID")
    assert any(
        e.payload["payment_id"] == refused.id for e in await events(engine, "payment.failed")
    )
    await books_balance(engine)


async def test_a_crash_after_choosing_the_source_asks_before_debiting_again(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock, wallet: Any
) -> None:
    await import_bills(engine, clock, bill_line("B0"))
    await sign(wechat)
    clock.advance(timedelta(minutes=1))
    await import_bills(engine, clock, bill_line("B1", amount=300))
    await autopay.run_autopay()
    # as if a worker had recorded its choice and died before the debit left
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE debits SET status = 'SENT', pending_source = 'card-1'"))
    await run_until(autopay, clock, sh("2026-11-23 12:00"))
    assert await attempts(engine) == [
        ("card-1", "query", "NOT_RECEIVED"), ("card-1", "debit", "SUCCEEDED")
    ]  # fmt: skip
    assert len(wallet[0].ledger()) == 1


_examples = iter(range(1, 10_000))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    issued=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 15), timezones=st.just(UTC)
    ),
    plan=st.sampled_from(
        ["*=success", "card-1=declined", "*=insufficient", "card-1=processing", "*=declined"]
    ),
)
async def test_never_on_a_day_off_never_out_of_hours_never_late_never_twice(
    wechat: ChannelClient,
    autopay: Any,
    engine: AsyncEngine,
    clock: FrozenClock,
    wallet: Any,
    issued: datetime,
    plan: str,
) -> None:
    n = next(_examples)
    account = f"07{n:08d}"
    wallet[0].outcomes = OutcomePlan.parse(plan)
    clock.set(issued - timedelta(hours=1))
    await import_bills(engine, clock, bill_line(f"OLD-{n}", account=account))
    await sign(wechat, account=account, payer=f"p{n}")
    clock.set(issued)
    await import_bills(engine, clock, bill_line(f"NEW-{n}", account=account, amount=777))
    await run_until(autopay, clock, issued + timedelta(days=20))
    async with engine.connect() as conn:
        debit = (
            await conn.execute(
                text("SELECT * FROM debits WHERE bill_nos[1] = :b"), {"b": f"NEW-{n}"}
            )
        ).one()
        sent = (
            (
                await conn.execute(
                    text("SELECT at FROM debit_attempts WHERE debit_id = :d AND kind = 'debit'"),
                    {"d": debit.id},
                )
            )
            .scalars()
            .all()
        )
    assert debit.status in {"SUCCEEDED", "FAILED"}
    for at in sent:
        assert is_open(at), at  # a working day, 07:00-22:00
        assert at < debit.deadline  # never later than the third working day
    taken = [e for e in wallet[0].ledger() if e.debit_id == debit.id]
    assert len(taken) == (1 if debit.status == "SUCCEEDED" else 0)
    assert wallet[0].taken_twice() == []


async def test_a_remote_utility_is_polled_and_only_new_bills_are_debited(
    wechat: ChannelClient,
    autopay: Any,
    engine: AsyncEngine,
    db_url: Any,
    clock: FrozenClock,
    hub: Any,
    wallet: Any,
) -> None:
    async with remote_utility(engine, db_url, clock, hub) as utility:
        await utility.bill("0300000001", "RB-OLD", 1200)
        # the hub keeps no holder names of a remote utility: the payer verifies by SMS
        await give_phone(engine, clock, CODE, "0300000001")
        await bind_by_sms(wechat, engine, clock, hub, "wx-payer", CODE, "0300000001")
        await sign(wechat, bound=True, biller=CODE, account="0300000001")
        first = await autopay.run_autopay()  # the first poll: RB-OLD was due before signing
        assert first.polled.results == {"baseline": 1}
        async with engine.connect() as conn:
            seen = (
                await conn.execute(text("SELECT bill_no, before_mandate FROM observed_bills"))
            ).all()
        assert [tuple(r) for r in seen] == [("RB-OLD", True)]
        assert await debits(engine) == []

        await utility.bill("0300000001", "RB-NEW", 3300)
        clock.advance(timedelta(days=1))  # the biller's poll interval
        clock.set(sh("2026-11-24 09:00"))
        assert (await autopay.run_autopay()).polled.results == {"new bills": 1}
        (issued,) = await events(engine, "bill.issued")
        assert issued.payload["bill_no"] == "RB-NEW"
        await run_until(autopay, clock, sh("2026-11-24 12:00"))
        (debit,) = await debits(engine)
        assert (debit.status, debit.bill_nos) == ("SUCCEEDED", ["RB-NEW"])
        standing = await utility.sim.standing_write_offs()
        assert standing == {debit.payment_id: True}  # written off at the utility, by the debit
        await books_balance(engine)

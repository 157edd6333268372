"""Redemptions in batches (``voucher_redeem_batch``): a batch whose items are for distinct
accounts, orders and PINs is written set-wise (``voucher_redeem_many``), and every item
gets the answer it gets alone; concurrent set-wise batches redeem a PIN once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import bill_line, import_bills, open_customer_account
from tests.prepaid.test_prepaid_topup import books_hold
from tests.prepaid.test_prepaid_topup import open_account as open_prepaid_account
from tests.vouchers.conftest import Batch, recording, scalar
from utilipay.billers.schemas import Biller
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.ids import new_id
from utilipay.vouchers.redeem import RedeemCommand, Redemption, Redemptions

INVALID_PIN = "1234567890123456"
NONCE = "N-USED-BEFORE"


def account(n: int) -> str:
    return f"01123456{n:02d}"


def answer(result: Redemption | DomainError) -> Any:
    if isinstance(result, DomainError):
        return result.code
    return (result.created, result.bills, result.prepaid, result.credit)


async def attempt(redemptions: Redemptions, command: RedeemCommand) -> Redemption | DomainError:
    try:
        return await redemptions.redeem(command, new_id("P"))
    except DomainError as exc:
        return exc


# What each account's redemption is answered, alone or in a batch: the face value (100
# yuan) pays 00's two oldest bills whole (the third no longer fits) and leaves 20 as a
# credit, all of it is a credit for 01 (no bills) and 03 (its one bill is larger), 02 is
# prepaid; then the refusals: an invalid PIN, an unknown account, the same order again
# (the same request, then another PIN), a nonce used before.
EXPECTED = {
    account(0): (True, [{"bill_no": "B1", "amount": 3000}, {"bill_no": "B2", "amount": 5000}],
                 0, 2000),
    account(1): (True, [], 0, 10000),
    account(2): (True, [], 10000, 0),
    account(3): (True, [], 0, 10000),
    account(4): "VOUCHER_INVALID",
    account(5): "ACCOUNT_NOT_FOUND",
    account(6): (False, [], 0, 10000),
    account(7): "IDEMPOTENCY_CONFLICT",
    account(8): "UNAUTHENTICATED",
}  # fmt: skip


async def a_mixed_world(engine: AsyncEngine, clock: FrozenClock, redemptions: Redemptions,
                        command: Any) -> None:  # fmt: skip
    await import_bills(
        engine, clock,
        bill_line("B2", account(0), amount=5000, period="2026-10", due="2026-11-30"),
        bill_line("B1", account(0), amount=3000, period="2026-09", due="2026-10-31"),
        bill_line("B3", account(0), amount=4000, period="2026-11", due="2026-12-31"),
        bill_line("B4", account(3), amount=12000),
    )  # fmt: skip
    async with engine.begin() as conn:
        for n in (1, 4, 6, 7, 8):
            await open_customer_account(conn, "BJWATER", account(n))
        await conn.execute(
            text("SELECT channel_nonce_use(id, :n, :now) FROM channels WHERE code = 'WECHAT'"),
            {"n": NONCE, "now": clock.now()},
        )
    await open_prepaid_account(engine, clock, account(2))
    # orders redeemed before: 06's is sent again as it was, 07's again with another PIN
    for n in (6, 7):
        await redemptions.redeem(command(n, order_id=f"DONE-{n}"), new_id("P"))


@pytest.mark.parametrize("max_batch", [1, 64], ids=["alone", "set-wise"])
async def test_a_batch_answers_every_item_as_alone(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], sold: Batch,
    max_batch: int,
) -> None:  # fmt: skip
    water, wechat = world["water"], world["wechat"]
    assert isinstance(water, Biller) and isinstance(wechat, Channel)
    pins = {n: sold.pin(n) for n in range(10)}
    pins[4] = INVALID_PIN

    def command(n: int, **overrides: Any) -> RedeemCommand:
        fields: dict[str, Any] = {
            "channel": wechat, "order_id": f"V{n}", "pin": pins[n], "biller": water,
            "account_no": account(n), "payer": f"payer-{n}",
        }  # fmt: skip
        fields.update(overrides)
        return RedeemCommand(**fields)

    redemptions = Redemptions(engine, clock, max_in_flight=1, max_batch=max_batch)
    # set up through the same process, so its PIN key is read already: the nine below then
    # queue in one pass of the event loop, none of them waiting for the key behind the first
    await a_mixed_world(engine, clock, redemptions, command)
    sizes = recording(redemptions)
    commands = [command(n) for n in range(6)] + [
        command(6, order_id="DONE-6"),
        command(7, order_id="DONE-7", pin=pins[8]),
        command(8, nonce=NONCE),
    ]
    results = await asyncio.gather(*(attempt(redemptions, c) for c in commands))

    # the first goes at once, alone; the other eight queue behind it and go together
    assert sizes == ([1] * 9 if max_batch == 1 else [1, 8])
    assert {c.account_no: answer(r) for c, r in zip(commands, results, strict=True)} == EXPECTED
    paid = await scalar(engine, "SELECT string_agg(bill_no || ':' || p.account_no, ',' ORDER BY"
                        " bill_no) FROM bills b JOIN payments p ON p.id = b.payment_id"
                        " WHERE b.status = 'PAID'")  # fmt: skip
    assert paid == f"B1:{account(0)},B2:{account(0)}"
    # the PINs redeemed: six (04's was invalid, 05's account unknown, 08's and 09's unused)
    redeemed = await scalar(engine, "SELECT array_agg(seq ORDER BY seq) FROM vouchers"
                            " WHERE state = 'REDEEMED'")  # fmt: skip
    assert redeemed == [1, 2, 3, 4, 7, 8]
    credits = await scalar(engine, "SELECT string_agg(account_no || ':' || balance, ','"
                           " ORDER BY account_no) FROM voucher_credits")  # fmt: skip
    held = {0: 2000, 1: 10000, 3: 10000, 6: 10000, 7: 10000}
    assert credits == ",".join(f"{account(n)}:{balance}" for n, balance in held.items())
    assert await scalar(engine, "SELECT balance FROM prepaid_accounts") == 10000
    assert await scalar(engine, "SELECT count(*) FROM voucher_failures") == 2  # payer, account
    # one event per payment, the prepaid one with its balance
    events = await scalar(engine, "SELECT array_agg(payload ->> 'balance' ORDER BY aggregate_id)"
                          " FROM outbox_events WHERE event_type = 'payment.succeeded'")  # fmt: skip
    assert isinstance(events, list) and len(events) == 6
    assert [balance for balance in events if balance is not None] == ["10000"]
    await books_hold(engine)


async def test_concurrent_set_wise_batches_redeem_a_pin_once(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], sold: Batch
) -> None:
    """Two server processes, each sending a batch of the same eight PINs for accounts of its
    own: the vouchers are locked in one order, so one batch waits for the other and then
    finds every PIN redeemed."""
    water, wechat = world["water"], world["wechat"]
    assert isinstance(water, Biller) and isinstance(wechat, Channel)
    async with engine.begin() as conn:
        for n in range(16):
            await open_customer_account(conn, "BJWATER", account(n))
    processes = [Redemptions(engine, clock, max_in_flight=1, max_batch=64) for _ in range(2)]
    commands = [
        (processes[n // 8], RedeemCommand(wechat, f"R{n}", sold.pin(n % 8), water, account(n),
                                          f"payer-{n}"))
        for n in range(16)
    ]  # fmt: skip
    results = await asyncio.gather(*(attempt(p, c) for p, c in commands))

    redeemed = [c.pin for (_, c), r in zip(commands, results, strict=True)
                if isinstance(r, Redemption)]  # fmt: skip
    assert sorted(redeemed) == sorted(sold.pin(n) for n in range(8))
    assert [answer(r) for r in results].count("VOUCHER_INVALID") == 8
    assert await scalar(engine, "SELECT count(*) FROM voucher_redemptions") == 8
    assert await scalar(engine, "SELECT sum(balance) FROM voucher_credits") == 8 * 10000
    await books_hold(engine)

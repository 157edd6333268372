"""POST /v1/vouchers/redeem (channel-api.md §12): bills oldest first, then the prepaid
balance or a credit; idempotent by order id; one code for every invalid PIN; the brake."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, import_bills, open_customer_account
from tests.prepaid.test_prepaid_topup import books_hold
from tests.prepaid.test_prepaid_topup import open_account as open_prepaid_account
from tests.settlement.test_settlement import NEXT_MORNING, account, settle
from tests.vouchers.conftest import Batch, activate, issue, scalar
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient


def body(order_id: str, pin: str, **overrides: Any) -> dict[str, Any]:
    found = {"order_id": order_id, "pin": pin, "biller": "BJWATER", "account": ACCOUNT,
             "payer": "wx-openid-abc"}  # fmt: skip
    found.update(overrides)
    return found


async def redeem(wechat: ChannelClient, order_id: str, pin: str, **overrides: Any) -> Any:
    return await wechat.call("POST", "/v1/vouchers/redeem", json=body(order_id, pin, **overrides))


async def test_face_value_pays_oldest_bills_whole_then_leaves_a_credit(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    await import_bills(
        engine, clock,
        bill_line("B2", amount=5000, period="2026-10", due="2026-11-30"),
        bill_line("B1", amount=3000, period="2026-09", due="2026-10-31"),
        bill_line("B3", amount=4000, period="2026-11", due="2026-12-31"),
    )  # fmt: skip
    answer = await redeem(wechat, "V1", sold.pin(0))
    assert answer.status_code == 201, answer.text
    out = answer.json()
    # 100 yuan: B1 (30) and B2 (50) whole, B3 (40) does not fit, 20 yuan left as credit
    assert out["amount"] == 10000 and out["status"] == "SUCCEEDED"
    assert out["applied"] == {
        "bills": [{"bill_no": "B1", "amount": 3000}, {"bill_no": "B2", "amount": 5000}],
        "prepaid": 0,
        "credit": 2000,
    }
    assert out["receipt_no"]
    paid = await scalar(engine, "SELECT string_agg(bill_no, ',' ORDER BY bill_no) FROM bills"
                        " WHERE status = 'PAID' AND payment_id = :p", p=out["id"])  # fmt: skip
    assert paid == "B1,B2"
    assert await scalar(engine, "SELECT balance FROM voucher_credits") == 2000
    assert await scalar(engine, "SELECT state FROM vouchers WHERE seq = 1") == "REDEEMED"
    await books_hold(engine)

    again = await redeem(wechat, "V1", sold.pin(0))
    assert (again.status_code, again.json()) == (200, out)
    other = await redeem(wechat, "V1", sold.pin(1))
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"


async def test_the_credit_pays_the_next_bill_when_it_is_issued(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", ACCOUNT)
    first = await redeem(wechat, "V1", sold.pin(0))
    assert first.json()["applied"] == {"bills": [], "prepaid": 0, "credit": 10000}
    await import_bills(engine, clock, bill_line("B9", amount=6000), bill_line("B8", amount=7000,
                       due="2026-12-31"))  # fmt: skip
    # B9 (due first) fits in the credit, B8 then does not: 40 yuan stay for later bills
    assert await scalar(engine, "SELECT status FROM bills WHERE bill_no = 'B9'") == "PAID"
    assert await scalar(engine, "SELECT status FROM bills WHERE bill_no = 'B8'") == "UNPAID"
    assert await scalar(engine, "SELECT balance FROM voucher_credits") == 4000
    await books_hold(engine)


async def test_a_prepaid_account_gets_the_face_value_on_its_balance(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    await open_prepaid_account(engine, clock)
    answer = await redeem(wechat, "V1", sold.pin(0))
    assert answer.status_code == 201, answer.text
    assert answer.json()["applied"] == {"bills": [], "prepaid": 10000, "credit": 0}
    assert await scalar(engine, "SELECT balance FROM prepaid_accounts") == 10000
    await books_hold(engine)


async def test_every_invalid_pin_gets_one_code(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    await import_bills(engine, clock, bill_line("B1", amount=3000))
    unsold = await issue(engine, clock, 1, 5000)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE vouchers SET state = 'VOID' WHERE seq = 2")
    assert (await redeem(wechat, "V0", sold.pin(2))).status_code == 201
    cases = {
        "unknown": "1234567890123456",
        "malformed": "12-34",
        "not sold": unsold.pin(0),
        "void": sold.pin(1),
        "redeemed": sold.pin(2),
    }
    for n, pin in enumerate(cases.values()):
        answer = await redeem(wechat, f"X{n}", pin, payer=f"payer-{n}", account=ACCOUNT)
        assert answer.status_code == 422 and answer.json()["code"] == "VOUCHER_INVALID", pin
    assert await scalar(engine, "SELECT count(*) FROM payments") == 1
    # the same answer for a PIN of another utility and an expired one: proved in
    # test_vouchers_lifecycle (expiry) and by the key per utility (pins.py)


async def test_five_invalid_pins_lock_the_payer_out_for_15_minutes(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    await import_bills(engine, clock, bill_line("B1", amount=3000))
    for n in range(5):
        answer = await redeem(wechat, f"X{n}", f"{n:016d}")
        assert answer.status_code == 422
    locked = await redeem(wechat, "X9", sold.pin(0))
    assert locked.status_code == 429 and locked.json()["code"] == "RATE_LIMITED"
    # the account is locked too, whoever asks
    other_payer = await redeem(wechat, "X10", sold.pin(0), payer="someone-else")
    assert other_payer.status_code == 429
    clock.advance(timedelta(minutes=15, seconds=1))
    assert (await redeem(wechat, "X11", sold.pin(0))).status_code == 201


async def test_a_voucher_of_a_batch_sold_later_redeems(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, world: object
) -> None:
    await import_bills(engine, clock, bill_line("B1", amount=3000))
    batch = await issue(engine, clock, 2, 3000)
    assert (await redeem(wechat, "V1", batch.pin(0))).status_code == 422
    await activate(engine, clock, batch)
    assert (await redeem(wechat, "V2", batch.pin(0))).status_code == 201


async def test_the_settlement_counts_what_vouchers_moved_on_the_utilitys_payable(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, sold: Batch
) -> None:
    """Sold by the utility itself (it holds the cash: 10 × 100 yuan less owed), one
    redeemed for 80 yuan of bills (owed again) and 20 yuan of credit (owed when a bill uses
    it): the day's gross is what the ledger moved on the payable, no top-up is counted."""
    await import_bills(engine, clock, bill_line("B1", amount=8000))
    assert (await redeem(wechat, "V1", sold.pin(0))).status_code == 201
    await account(engine, clock, "BJWATER")
    clock.set(NEXT_MORNING)
    outcome = (await settle(engine, clock))["BJWATER"]
    (line,) = outcome.lines
    assert (line.vouchers, line.bills, line.topups) == (-100000 + 8000, 0, 0)
    assert outcome.total("gross") == -92000 and outcome.total("net") == -92000
    await books_hold(engine)

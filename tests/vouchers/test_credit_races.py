"""A redemption and a bill import for one account at the same moment. The redemption locks
the account's unpaid bills and then upserts its voucher credit; the import's trigger
(``vouchers_use_credit``) takes the same two in the same order, so one waits for the other.
In the other order they deadlocked and PostgreSQL cancelled one of them: the whole bill
file, or the redemptions' batch."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import raw_connect
from tests.helpers import bill_line, import_bills, open_customer_account, until_waiting_on_locks
from tests.prepaid.test_prepaid_topup import books_hold
from tests.prepaid.test_prepaid_topup import open_account as open_prepaid_account
from tests.vouchers.conftest import Batch, recording, scalar
from tests.vouchers.test_redeem_batches import account
from utilipay.billers.schemas import Biller
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock
from utilipay.ids import new_id
from utilipay.vouchers.redeem import RedeemCommand, Redemption, Redemptions

CREDITED, OTHER, PREPAID = account(0), account(1), account(2)


async def test_a_redemption_and_a_bill_import_for_one_account_queue(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], sold: Batch,
    raw_dsn: tuple[str, dict[str, str]],
) -> None:  # fmt: skip
    water, wechat = world["water"], world["wechat"]
    assert isinstance(water, Biller) and isinstance(wechat, Channel)
    await import_bills(engine, clock, bill_line("B4", CREDITED, amount=12000))
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", OTHER)
    await open_prepaid_account(engine, clock, PREPAID)
    redemptions = Redemptions(engine, clock, max_in_flight=1)

    def redeem(n: int, account_no: str) -> asyncio.Task[Redemption]:
        command = RedeemCommand(wechat, f"V{n}", sold.pin(n), water, account_no, f"payer-{n}")
        return asyncio.create_task(redemptions.redeem(command, new_id("P")))

    # 100 yuan of credit: the account's one bill, 120 yuan, is larger than the face value
    await redeem(0, CREDITED)
    sizes = recording(redemptions)
    watcher = await raw_connect(raw_dsn)
    try:
        async with engine.connect() as voucher_held, engine.connect() as prepaid_held:
            await voucher_held.execute(text("SELECT 1 FROM vouchers WHERE seq = 2 FOR UPDATE"))
            await prepaid_held.execute(text("SELECT 1 FROM prepaid_accounts FOR UPDATE"))
            # one batch in flight, waiting for its voucher: the next two queue behind it
            alone = redeem(1, OTHER)
            await until_waiting_on_locks(watcher, 1)
            together = [redeem(2, CREDITED), redeem(3, PREPAID)]
            await voucher_held.rollback()
            await alone
            # the two go as one batch: the credited account's bills locked, then it waits
            # for the prepaid account's row; a bill for the credited account arrives
            await until_waiting_on_locks(watcher, 1)
            new_bill = bill_line("B5", CREDITED, amount=5000, period="2026-11", due="2026-12-31")
            importing = asyncio.create_task(import_bills(engine, clock, new_bill))
            await until_waiting_on_locks(watcher, 2)
            await prepaid_held.rollback()
            redeemed = await asyncio.gather(*together)
            await importing
    finally:
        await watcher.close()

    assert sizes == [1, 2]  # the two together once, not retried one by one after a deadlock
    assert [(r.bills, r.prepaid, r.credit) for r in redeemed] == [([], 0, 10000), ([], 10000, 0)]
    # the import came second: 200 yuan of credit paid B4 (120) and the new B5 (50)
    paid = await scalar(engine, "SELECT string_agg(bill_no, ',' ORDER BY bill_no) FROM bills"
                        " WHERE status = 'PAID'")  # fmt: skip
    assert paid == "B4,B5"
    credit = "SELECT balance FROM voucher_credits WHERE account_no = :account"
    assert await scalar(engine, credit, account=CREDITED) == 3000
    await books_hold(engine)


async def test_every_unpaid_bill_of_the_accounts_is_locked(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    """``vouchers_bills_locked`` holds all of them, not its first row's: another
    transaction skipping locked rows finds none of the account's unpaid bills."""
    await import_bills(
        engine, clock, *(bill_line(f"B{n}", CREDITED, period=f"2026-0{n}") for n in range(1, 4))
    )
    unlocked = (
        "SELECT count(*) FROM (SELECT 1 FROM bills WHERE status = 'UNPAID'"
        " FOR UPDATE SKIP LOCKED) free"
    )
    async with engine.connect() as holding, engine.connect() as other:
        await holding.execute(
            text("SELECT vouchers_bills_locked(ARRAY[biller_id], ARRAY[account_no])"
                 " FROM customer_accounts WHERE account_no = :account"),
            {"account": CREDITED},
        )  # fmt: skip
        assert await other.scalar(text(unlocked)) == 0
        await holding.rollback()
        assert await other.scalar(text(unlocked)) == 3

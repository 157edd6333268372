"""A batch's life: issued (the PINs once, hashes kept), sold by an outlet whose float pays
or by the utility, voided, expired (breakage), listed; redeemed once under any race."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, open_customer_account
from tests.outlets.rows import deposit
from tests.prepaid.test_prepaid_topup import books_hold
from tests.vouchers.conftest import EXPIRES, Batch, issue, recording, scalar
from utilipay.billers.schemas import Biller
from utilipay.channels.schemas import Channel
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.vouchers import service
from utilipay.vouchers.expiry import expire
from utilipay.vouchers.pins import existing_key, pin_hash
from utilipay.vouchers.redeem import RedeemCommand, Redemptions
from utilipay.vouchers.service import Selection


async def an_outlet(engine: AsyncEngine, clock: FrozenClock, balance: int) -> None:
    """Shop S1 of channel WECHAT with ``balance`` fen of float, deposited as the ledger books
    it (``utilipay check`` holds the float to its account)."""
    async with engine.begin() as conn:
        outlet_id = await conn.scalar(
            text(
                "WITH acc AS (INSERT INTO ledger_accounts (code, kind, channel_id, currency,"
                " created_at) SELECT 'OUTLET_FLOAT:WECHAT:S1:CNY', 'OUTLET_FLOAT', id, 'CNY', :now"
                " FROM channels WHERE code = 'WECHAT' RETURNING id, channel_id),"
                " o AS (INSERT INTO outlets (channel_id, code, name, kind, region, status,"
                " low_threshold, float_account, created_at) SELECT channel_id, 'S1', '村口小卖部',"
                " 'shop', '360600', 'ACTIVE', 0, id, :now FROM acc RETURNING id)"
                " INSERT INTO outlet_floats SELECT id, 0, 0 FROM o RETURNING outlet_id"
            ),
            {"now": clock.now()},
        )
        await deposit(conn, clock, outlet_id, balance)


async def test_issue_keeps_only_keyed_hashes(
    engine: AsyncEngine, clock: FrozenClock, world: object
) -> None:
    batch = await issue(engine, clock, 3, 5000)
    assert len(set(batch.pins.values())) == 3
    assert all(len(p) == 16 and p.isdigit() for p in batch.pins.values())
    assert list(batch.pins) == [f"{batch.id:06d}{n:08d}" for n in (1, 2, 3)]
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT pin_hash FROM vouchers ORDER BY seq"))).all()
        key = await conn.scalar(text("SELECT key FROM voucher_keys"))
    assert key.startswith("sealed:")  # the key is sealed like the other secrets
    for (hashed,), pin in zip(stored, batch.pins.values(), strict=True):
        assert pin.encode() not in hashed and len(hashed) == 32


async def test_an_outlet_float_pays_for_what_it_sells_or_nothing_is_sold(
    engine: AsyncEngine, clock: FrozenClock, world: object
) -> None:
    await an_outlet(engine, clock, balance=25000)
    batch = await issue(engine, clock, 3, 10000)
    with pytest.raises(DomainError) as refused:
        async with engine.begin() as conn:
            await service.activate(conn, clock, Selection(batch=batch.id),
                                   outlet=("WECHAT", "S1"), actor="t")  # fmt: skip
    assert refused.value.code is ErrorCode.FLOAT_INSUFFICIENT
    assert await scalar(engine, "SELECT count(*) FROM vouchers WHERE state = 'ISSUED'") == 3
    first, last, _ = batch.pins
    async with engine.begin() as conn:
        sold = await service.activate(conn, clock, Selection(first=first, last=last),
                                      outlet=("WECHAT", "S1"), actor="t")  # fmt: skip
    assert (sold.count, sold.amount) == (2, 20000)
    assert await scalar(engine, "SELECT balance FROM outlet_floats") == 5000
    assert await scalar(
        engine, "SELECT sum(p.amount) FROM postings p JOIN ledger_accounts a"
        " ON a.id = p.account_id WHERE a.kind = 'OUTLET_FLOAT' AND p.amount > 0",
    ) == 20000  # fmt: skip
    async with engine.connect() as conn:
        listed = await service.batches(conn, "BJWATER")
    assert listed[0].states == {"ISSUED": 1, "ACTIVE": 2, "REDEEMED": 0, "EXPIRED": 0, "VOID": 0}
    await books_hold(engine)


async def test_void_takes_only_unsold_vouchers_and_expiry_books_the_breakage(
    engine: AsyncEngine, clock: FrozenClock, world: object
) -> None:
    batch = await issue(engine, clock, 4, 10000)
    serials = list(batch.pins)
    async with engine.begin() as conn:
        await service.activate(conn, clock, Selection(first=serials[0]), outlet=None, actor="t")
    with pytest.raises(DomainError):  # a sold voucher is its holder's money
        async with engine.begin() as conn:
            await service.void(conn, clock, Selection(first=serials[0], last=serials[1]),
                               reason="lost", actor="t")  # fmt: skip
    async with engine.begin() as conn:
        voided = await service.void(conn, clock, Selection(first=serials[1]), reason="lost",
                                    actor="t")  # fmt: skip
    assert voided.count == 1
    clock.set(clock.now().replace(year=EXPIRES.year + 1, tzinfo=SHANGHAI))
    async with engine.begin() as conn:
        done = await expire(conn, clock, actor="worker")
    assert (done.vouchers, done.breakage) == (3, 10000)
    async with engine.begin() as conn:
        assert (await expire(conn, clock, actor="worker")).vouchers == 0  # safe to repeat
    assert await scalar(engine, "SELECT count(*) FROM vouchers WHERE state = 'EXPIRED'") == 3
    await books_hold(engine)


@pytest.mark.parametrize(
    ("in_flight", "batch"),
    [(6, 1), (1, 64)],
    ids=["each-its-own-transaction", "sharing-batches"],
)
async def test_a_pin_is_redeemed_once_whatever_races(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    sold: Batch,
    in_flight: int,
    batch: int,
) -> None:
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", ACCOUNT)
    water, wechat = world["water"], world["wechat"]
    assert isinstance(water, Biller) and isinstance(wechat, Channel)
    redemptions = Redemptions(engine, clock, max_in_flight=in_flight, max_batch=batch)
    sizes = recording(redemptions)

    async def attempt(n: int) -> str:
        command = RedeemCommand(wechat, f"R{n}", sold.pin(0), water, ACCOUNT, f"payer-{n}")
        try:
            await redemptions.redeem(command, new_id("P"))
        except DomainError as exc:
            return exc.code
        return "REDEEMED"

    # six at once, on pooled connections or in one batch: the winner and five losers. A
    # seventh would meet the account's brake (§12: after 5 invalid PINs, 429) whenever the
    # losers happened to finish before it began, as on a loaded machine, and the outcome
    # would be timing's
    results = await asyncio.gather(*(attempt(n) for n in range(6)))
    assert sorted(results) == ["REDEEMED"] + ["VOUCHER_INVALID"] * 5
    assert sizes == ([1] * 6 if batch == 1 else [1, 5])
    assert await scalar(engine, "SELECT count(*) FROM voucher_redemptions") == 1
    assert await scalar(engine, "SELECT balance FROM voucher_credits") == 10000
    assert await scalar(engine, "SELECT count(*) FROM voucher_failures") == 10  # payer, account
    await books_hold(engine)


async def test_an_expired_pin_or_another_utilitys_is_invalid(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], sold: Batch
) -> None:
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", ACCOUNT)
        key = await existing_key(conn, 1)
    assert key is not None
    assert pin_hash(key, sold.pin(0)) != pin_hash(b"another utility's key", sold.pin(0))
    water, wechat = world["water"], world["wechat"]
    assert isinstance(water, Biller) and isinstance(wechat, Channel)
    clock.advance(timedelta(days=400 + (EXPIRES - clock.now().date()).days))
    command = RedeemCommand(wechat, "R1", sold.pin(0), water, ACCOUNT, "payer")
    with pytest.raises(DomainError) as refused:  # past its last day, before the daily run
        await Redemptions(engine, clock, max_in_flight=1).redeem(command, new_id("P"))
    assert refused.value.code is ErrorCode.VOUCHER_INVALID

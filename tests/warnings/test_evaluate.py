"""The early-warning pass: each kind fires on its figures, once per episode, and two
passes at once make one warning; each new warning is a message to the utility's contacts."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.warnings.rows import bill, branch, cuts, debits, pay
from utilipay.clock import FrozenClock
from utilipay.notify.consumers import notification_consumers
from utilipay.outbox.dispatch import Dispatcher
from utilipay.warnings import episodes, rules
from utilipay.warnings.evaluate import evaluate_all, evaluate_utility

TODAY = date(2026, 11, 22)  # the clock's day (Shanghai)
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


async def _rule(engine: AsyncEngine, clock: FrozenClock, kind: str, **params: Any) -> int:
    async with engine.begin() as conn:
        biller_id = await rules.biller_id_of(conn, "BJWATER")
        return (await rules.add_rule(conn, clock, biller_id, kind, params, actor="t")).id


async def _warnings(engine: AsyncEngine) -> list[episodes.CollectionWarning]:
    async with engine.connect() as conn:
        return await episodes.list_warnings(conn, None)


async def _events(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        query = text(
            "SELECT payload FROM outbox_events WHERE event_type = 'collection.warning' ORDER BY id"
        )
        return [r.payload for r in await conn.execute(query)]


async def test_an_account_in_arrears_warns_once_per_episode(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await _rule(engine, clock, "account_arrears", amount_fen=50_000, days=30)
    await bill(engine, clock, "B1", issued=date(2026, 9, 1), due=date(2026, 10, 1))  # 52 days
    await bill(engine, clock, "B2", issued=NOV, due=date(2026, 11, 30))  # not yet due
    assert (await evaluate_all(engine, clock)).opened == 1
    assert (await evaluate_all(engine, clock)).opened == 0  # still the same episode
    [first] = await _warnings(engine)
    assert first.subject == "BJWATER/0112345678" and first.cleared_at is None
    assert first.figures["amount"] == 10_000 and first.figures["days"] == 52

    await pay(engine, "B1", TODAY)
    done = await evaluate_all(engine, clock)
    assert (done.opened, done.cleared) == (0, 1)

    clock.advance(timedelta(days=10))  # B2 is overdue now, but young and small
    assert (await evaluate_all(engine, clock)).opened == 0
    await bill(engine, clock, "B3", issued=NOV, amount=60_000, due=date(2026, 11, 25))
    assert (await evaluate_all(engine, clock)).opened == 1  # a new episode
    second, ended = await _warnings(engine)
    assert ended.id == first.id and ended.cleared_at is not None
    assert second.id != first.id and second.figures["amount"] == 70_000
    assert [e["warning_id"] for e in await _events(engine)] == [first.id, second.id]


async def test_the_rate_behind_last_month_from_day_n(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    for n, paid in enumerate([date(2026, 10, 5), date(2026, 10, 20), date(2026, 10, 21), None]):
        await bill(engine, clock, f"O{n}", issued=OCT, paid=paid)  # 75 % by 22 October
    for n, paid in enumerate([date(2026, 11, 5), date(2026, 11, 23), None, None]):
        await bill(engine, clock, f"N{n}", issued=NOV, paid=paid)  # 25 % by 22 November
    late = await _rule(engine, clock, "rate_behind_last_month", day=23, points=5)
    behind = await _rule(engine, clock, "rate_behind_last_month", day=10, points=50)
    small = await _rule(engine, clock, "rate_behind_last_month", day=10, points=51)
    target = await _rule(engine, clock, "rate_below_target", day=20, target_percent=30)
    assert (await evaluate_all(engine, clock)).opened == 2
    found = {w.rule_id: w for w in await _warnings(engine)}
    assert set(found) == {behind, target} and late not in found and small not in found
    assert found[behind].subject == "BJWATER"
    assert found[behind].figures | {"summary": None} == {
        "day": "2026-11-22", "rate_bp": 2500, "then_rate_bp": 7500, "billed": 40_000,
        "collected": 10_000, "summary": None,
    }  # fmt: skip
    assert "25.00%" in found[behind].summary() and "75.00%" in found[behind].summary()

    await pay(engine, "N2", TODAY)  # 50 %: no longer 50 points behind, above the target
    assert (await evaluate_all(engine, clock)).cleared == 2


async def test_a_region_whose_rate_fell(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await branch(engine, clock, "BJWATERHD", "110108")
    await bill(engine, clock, "HO", issued=OCT, account="0212345678", paid=OCT, biller="BJWATERHD")
    await bill(engine, clock, "HN", issued=NOV, account="0212345678", biller="BJWATERHD")
    await bill(engine, clock, "CO", issued=OCT, paid=OCT)
    await bill(engine, clock, "CN", issued=NOV, paid=NOV)
    await _rule(engine, clock, "region_rate_drop", day=1, points=10)
    assert (await evaluate_all(engine, clock)).opened == 1
    [warning] = await _warnings(engine)
    assert warning.subject == "110108"  # the branch's region, from 100 % to none
    assert (warning.figures["rate_bp"], warning.figures["then_rate_bp"]) == (0, 10_000)


async def test_totals_of_the_overdue_and_of_prepaid_accounts_in_arrears(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await bill(engine, clock, "A1", issued=OCT, amount=30_000, due=date(2026, 11, 1))
    await bill(engine, clock, "A2", issued=OCT, account="0112345679", due=date(2026, 11, 1))
    total = await _rule(engine, clock, "arrears_total", amount_fen=40_000)
    await _rule(engine, clock, "arrears_total", amount_fen=40_001)
    many = await _rule(engine, clock, "overdue_accounts", count=2)
    await _rule(engine, clock, "overdue_accounts", count=3)
    await _rule(engine, clock, "prepaid_in_arrears", count=1)  # no prepaid account
    await evaluate_all(engine, clock)
    found = {w.rule_id: w.figures for w in await _warnings(engine)}
    assert set(found) == {total, many}
    assert found[total]["accounts"] == 2 and found[total]["amount"] == 40_000


async def test_a_figure_several_rules_ask_for_is_read_once(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await bill(engine, clock, "A1", issued=NOV, due=date(2026, 11, 1))
    for points in (5, 10):
        await _rule(engine, clock, "rate_behind_last_month", day=1, points=points)
    await _rule(engine, clock, "rate_behind_last_year", day=1)
    await _rule(engine, clock, "rate_below_target", day=1)
    await _rule(engine, clock, "arrears_total", amount_fen=1)
    await _rule(engine, clock, "overdue_accounts", count=1)
    scans: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM billing_bills" in statement:
            scans.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert (await evaluate_all(engine, clock)).opened == 3
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    # today's rate, last month's and last year's, and the overdue total: once each
    assert len(scans) == 4


async def test_auto_pay_failing_in_a_row_and_prepaid_cut_often(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    biller_id, channel_id = water(world).id, channel(world, "wechat").id
    await debits(engine, biller_id, channel_id, "FAILED", "SUCCEEDED", "FAILED", "SKIPPED")
    twice = await _rule(engine, clock, "autopay_failed_twice", times=2)
    once = await _rule(engine, clock, "autopay_failed_twice", times=1)
    await cuts(engine, biller_id, "0112345678", date(2026, 8, 1), date(2026, 9, 1), TODAY)
    await cuts(engine, biller_id, "0112345679", date(2026, 10, 1), date(2026, 11, 1))
    often = await _rule(engine, clock, "prepaid_cut_often", times=1, days=90)
    await evaluate_all(engine, clock)
    found = {(w.rule_id, w.subject) for w in await _warnings(engine)}
    assert found == {
        (once, "BJWATER/0112345678"),  # the last finished debit failed, the one before not
        (often, "BJWATER/0112345678"),  # twice in 90 days (August is older)
        (often, "BJWATER/0112345679"),
    }
    assert twice not in {rule for rule, _ in found}


async def test_two_passes_at_once_make_one_warning(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    await _rule(engine, clock, "account_arrears", amount_fen=1, days=1)
    await bill(engine, clock, "B1", issued=OCT, due=date(2026, 11, 1))
    biller_id = water(world).id
    async with engine.connect() as first:
        await first.begin()
        assert (await evaluate_utility(first, clock, biller_id)).opened == 1

        async def second_pass() -> int:
            async with engine.begin() as second:
                return (await evaluate_utility(second, clock, biller_id)).opened

        racing = asyncio.create_task(second_pass())
        await asyncio.sleep(0.5)
        assert not racing.done()  # waiting on the first pass's warning
        await first.commit()
    assert await racing == 0
    assert len(await _warnings(engine)) == 1 and len(await _events(engine)) == 1


async def test_a_rule_switched_off_ends_its_warnings(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    rule = await _rule(engine, clock, "account_arrears", amount_fen=1, days=1)
    await bill(engine, clock, "B1", issued=OCT, due=date(2026, 11, 1))
    await evaluate_all(engine, clock, "BJWATER")
    async with engine.begin() as conn:
        await rules.update_rule(conn, clock, rule, enabled=False, actor="t")
    assert (await evaluate_all(engine, clock, "BJWATER")).cleared == 1
    async with engine.begin() as conn:
        await rules.update_rule(conn, clock, rule, enabled=True, actor="t")
    assert (await evaluate_all(engine, clock, "BJWATER")).opened == 1
    assert len(await _warnings(engine)) == 2


async def test_a_new_warning_is_sent_to_the_utilitys_contacts(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    async with engine.begin() as conn:
        contacts = [("email", "ops@bjwater.example"), ("sms", "13800138000")]
        await rules.set_contacts(conn, clock, water(world).id, contacts, actor="t")
    await _rule(engine, clock, "account_arrears", amount_fen=1, days=1)
    await bill(engine, clock, "B1", issued=OCT, due=date(2026, 11, 1))
    await evaluate_all(engine, clock)
    dispatcher = Dispatcher(notification_consumers(lambda _: None))
    await dispatcher.dispatch_pending(engine, clock)
    async with engine.connect() as conn:
        sent = (
            await conn.execute(
                text(
                    "SELECT recipient_kind, address, language, subject, text FROM notifications"
                    " WHERE template = 'collection.warning' ORDER BY recipient_kind"
                )
            )
        ).all()
    assert [(s.recipient_kind, s.address, s.language) for s in sent] == [
        ("email", "ops@bjwater.example", "zh-CN"),
        ("sms", "13800138000", "zh-CN"),
    ]
    assert "北京自来水" in sent[0].subject["zh-CN"] and "户号0112345678" in sent[0].text["zh-CN"]

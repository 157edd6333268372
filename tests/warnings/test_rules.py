"""Rules as data: added with the kind's defaults, tuned, switched off, audited; bad kinds
and parameters refused with what is wrong; acknowledgement with a note, once, by someone
who may see the warning."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import water
from tests.helpers import audited_actors
from tests.warnings.rows import bill, branch
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.warnings import episodes, rules
from utilipay.warnings.evaluate import evaluate_all
from utilipay.warnings.kinds import KINDS
from utilipay.warnings.tables import warning_rules


async def _count_rules(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(warning_rules))).scalar_one()
        )


async def test_a_rule_takes_the_defaults_it_is_not_given_and_is_tuned_later(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    biller_id = water(world).id
    async with engine.begin() as conn:
        rule = await rules.add_rule(conn, clock, biller_id, "account_arrears", {"days": "60"},
                                    actor="li.ming")  # fmt: skip
        assert rule.params == {"amount_fen": 100_000, "days": 60} and rule.enabled
        tuned = await rules.update_rule(conn, clock, rule.id, params={"amount_fen": 5000},
                                        actor="wang.fang")  # fmt: skip
        assert tuned.params == {"amount_fen": 5000, "days": 60}
        off = await rules.update_rule(conn, clock, rule.id, enabled=False, actor="wang.fang")
        assert not off.enabled and off.updated_by == "wang.fang"
    assert await audited_actors(engine, "warnings.rule_added") == ["li.ming"]
    assert await audited_actors(engine, "warnings.rule_changed") == ["wang.fang", "wang.fang"]


async def test_the_default_set_has_a_rule_of_every_kind_once(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    async with engine.begin() as conn:
        first = await rules.add_defaults(conn, clock, water(world).id, actor="t")
        again = await rules.add_defaults(conn, clock, water(world).id, actor="t")
    assert len(KINDS) >= 10 and sorted(r.kind for r in first) == sorted(KINDS)
    assert again == []


@pytest.mark.parametrize(
    ("kind", "params", "says"),
    [
        (
            "arrears_age",
            {},
            "unknown rule kind 'arrears_age'; the kinds are rate_behind_last_month",
        ),
        ("account_arrears", {"days": 0}, "parameters of account_arrears: days: Input should be"),
        ("rate_behind_last_month", {"day": 32}, "day: Input should be less than or equal to 31"),
        ("autopay_failed_twice", {"times": "two"}, "times: Input should be a valid integer"),
        ("prepaid_cut_often", {"weeks": 3}, "weeks: Extra inputs are not permitted"),
    ],
)
async def test_a_bad_rule_is_refused_with_what_is_wrong_and_nothing_written(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], kind: str,
    params: dict[str, int | str], says: str,
) -> None:  # fmt: skip
    with pytest.raises(DomainError) as refused:
        async with engine.begin() as conn:
            await rules.add_rule(conn, clock, water(world).id, kind, params, actor="t")
    assert refused.value.code == ErrorCode.MALFORMED_REQUEST and says in refused.value.detail
    assert await _count_rules(engine) == 0


async def test_a_change_to_bad_parameters_or_another_utilitys_rule_is_refused(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    async with engine.begin() as conn:
        rule = await rules.add_rule(conn, clock, water(world).id, "overdue_accounts", {},
                                    actor="t")  # fmt: skip
    with pytest.raises(DomainError, match="count: Input should be greater than or equal to 1"):
        async with engine.begin() as conn:
            await rules.update_rule(conn, clock, rule.id, params={"count": -1}, actor="t")
    with pytest.raises(DomainError) as refused:
        async with engine.begin() as conn:
            await rules.update_rule(conn, clock, rule.id, enabled=False, actor="t",
                                    visible=frozenset({999}))  # fmt: skip
    assert refused.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError, match="no warning rule 4242"):
        async with engine.begin() as conn:
            await rules.update_rule(conn, clock, 4242, enabled=False, actor="t")
    async with engine.connect() as conn:
        [unchanged] = await rules.list_rules(conn, None)
    assert unchanged.enabled and unchanged.params == {"count": 100}


async def test_contacts_are_checked_replaced_and_audited(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    biller_id = water(world).id
    with pytest.raises(DomainError, match="not a contact: email 'nobody'"):
        async with engine.begin() as conn:
            await rules.set_contacts(conn, clock, biller_id, [("email", "nobody")], actor="t")
    async with engine.begin() as conn:
        await rules.set_contacts(conn, clock, biller_id, [("sms", "13800138000")], actor="t")
        wanted = [("email", "a@bjwater.example"), ("email", "a@bjwater.example")]
        assert await rules.set_contacts(conn, clock, biller_id, wanted, actor="zhao") == [
            ("email", "a@bjwater.example")
        ]
        assert await rules.contacts(conn, biller_id) == [("email", "a@bjwater.example")]
    assert await audited_actors(engine, "warnings.contacts_set") == ["t", "zhao"]


async def _one_warning(engine: AsyncEngine, clock: FrozenClock, biller_id: int) -> int:
    async with engine.begin() as conn:
        await rules.add_rule(conn, clock, biller_id, "account_arrears", {"days": 1}, actor="t")
    await bill(engine, clock, "B1", issued=date(2026, 10, 1), due=date(2026, 11, 1))
    await evaluate_all(engine, clock)
    async with engine.connect() as conn:
        [warning] = await episodes.list_warnings(conn, None, unacknowledged=True)
    return warning.id


async def test_a_warning_is_acknowledged_once_with_a_note(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    warning = await _one_warning(engine, clock, water(world).id)
    with pytest.raises(DomainError, match="say what is done about it: a note"):
        async with engine.begin() as conn:
            await episodes.acknowledge(conn, clock, warning, "  ", actor="li.ming")
    async with engine.begin() as conn:
        done = await episodes.acknowledge(
            conn, clock, warning, "called the holder", actor="li.ming"
        )
    assert done.acknowledged_by == "li.ming" and done.note == "called the holder"
    with pytest.raises(DomainError) as refused:
        async with engine.begin() as conn:
            await episodes.acknowledge(conn, clock, warning, "again", actor="wang.fang")
    assert refused.value.detail == (
        f"warning {warning} was already acknowledged by li.ming at 2026-11-22T15:30:00+08:00"
    )
    async with engine.connect() as conn:
        assert await episodes.list_warnings(conn, None, unacknowledged=True) == []
        reason = await conn.execute(
            text("SELECT actor, reason FROM audit_log WHERE action = 'warnings.acknowledged'")
        )
        assert [tuple(r) for r in reason] == [("li.ming", "called the holder")]


async def test_another_utilitys_warning_is_neither_listed_nor_acknowledged(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> None:
    warning = await _one_warning(engine, clock, water(world).id)
    other = await branch(engine, clock, "BJWATERHD", "110108")  # a branch sees not its group's
    async with engine.connect() as conn:
        assert await episodes.list_warnings(conn, frozenset({other})) == []
    with pytest.raises(DomainError) as refused:
        async with engine.begin() as conn:
            await episodes.acknowledge(conn, clock, warning, "mine?", actor="x",
                                       visible=frozenset({other}))  # fmt: skip
    assert refused.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as missing:
        async with engine.begin() as conn:
            await episodes.acknowledge(conn, clock, 4242, "note", actor="x")
    assert missing.value.code == ErrorCode.NOT_FOUND

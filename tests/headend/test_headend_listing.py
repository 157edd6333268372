"""What operators read of meter commands: filtered by the utilities a person may see and
the days they were decided, each with its attempts and the head-end's answers."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import START
from tests.headend.test_headend_delivery import HeadEndWorld, he, served  # noqa: F401 (fixtures)
from utilipay.headend.commands import attempts_of, list_commands


async def test_commands_by_scope_and_day_with_their_attempts(
    he: HeadEndWorld,  # noqa: F811
) -> None:
    executed = await he.decide("M-1")
    rejected = await he.decide("M-NORELAY")
    await he.deliver()
    he.clock.advance(timedelta(days=1))
    later = await he.decide("M-2")
    async with he.engine.connect() as conn:
        everyone = await list_commands(conn, billers=frozenset({he.biller_id}))
        nobody = await list_commands(conn, billers=frozenset({he.biller_id + 1}))
        first_day = await list_commands(conn, decided=(START, START + timedelta(hours=1)))
        since_then = await list_commands(conn, decided=(START + timedelta(hours=1), None))
        tried = await attempts_of(conn, everyone)
    assert everyone[0].id == later.id  # newest first
    assert {c.id for c in everyone[1:]} == {executed.id, rejected.id}
    assert nobody == []
    assert {c.id for c in first_day} == {executed.id, rejected.id}
    assert [c.id for c in since_then] == [later.id]
    assert [
        (a.attempt, a.kind, a.status_code, a.outcome) for a in tried[(he.biller_id, executed.id)]
    ] == [(1, "send", 200, "EXECUTED")]
    assert [a.outcome for a in tried[(he.biller_id, rejected.id)]] == ["REJECTED"]
    assert tried[(he.biller_id, later.id)] == []

"""The prepaid state rules: plain Python, and their SQL twin held to the same answers."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.prepaid.rules import (
    NOTICES,
    Account,
    State,
    apply_balance,
    apply_grace_over,
    next_state,
)

fen = st.integers(min_value=-(10**9), max_value=10**9)
reminders = st.integers(min_value=0, max_value=10**6)
states = st.sampled_from(list(State))
# a day's charge, a top-up, or the grace period running out (None)
events = st.lists(st.one_of(st.integers(-50_000, 50_000), st.none()), max_size=60)


def test_the_worked_states() -> None:
    assert next_state(State.NORMAL, 2000, 2000) is State.NORMAL
    assert next_state(State.NORMAL, 1999, 2000) is State.LOW
    assert next_state(State.LOW, 0, 2000) is State.ARREARS
    assert next_state(State.CUT, -5, 2000) is State.CUT
    assert next_state(State.CUT, 1, 2000) is State.LOW
    assert next_state(State.ARREARS, 1, 0) is State.NORMAL  # no reminder amount: no LOW


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(states, fen, reminders), min_size=1, max_size=50))
async def test_sql_and_python_agree(
    engine: AsyncEngine, cases: list[tuple[State, int, int]]
) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT prepaid_next_state(s, b, r) FROM unnest("
                "CAST(:s AS text[]), CAST(:b AS bigint[]), CAST(:r AS bigint[])) AS c(s, b, r)"
            ),
            {"s": [c[0].value for c in cases], "b": [c[1] for c in cases],
             "r": [c[2] for c in cases]},
        )  # fmt: skip
        answers = [State(r[0]) for r in rows]
    assert answers == [next_state(*case) for case in cases]


@given(start=fen, reminder=reminders, happenings=events)
def test_an_episode_sends_each_message_once_and_cuts_only_after_the_warning_and_grace(
    start: int, reminder: int, happenings: list[int | None]
) -> None:
    opened = apply_balance(Account(State.NORMAL, 0), start, reminder)
    account = opened.account
    sent: dict[int, list[State]] = {}
    if opened.notice is not None:
        sent[account.episode] = [opened.notice]
    for happening in happenings:
        before = account
        change = (
            apply_grace_over(account) if happening is None
            else apply_balance(account, happening, reminder)
        )  # fmt: skip
        account = change.account
        if change.notice is not None:
            sent.setdefault(account.episode, []).append(change.notice)
            assert change.notice is account.state and account.state in NOTICES
        # cut only in arrears, and only once the outage warning of the episode went out
        warned = State.ARREARS in before.notified
        assert change.disconnect == (happening is None and before.state is State.ARREARS and warned)
        if change.disconnect:
            assert State.ARREARS in sent.get(account.episode, [])
        assert change.reconnect == (before.state is State.CUT and account.state is not State.CUT)
        assert account.episode - before.episode == (
            before.state is State.NORMAL and account.state is not State.NORMAL
        )
        if account.state is State.CUT:
            assert account.balance <= 0
        if happening is not None and happening >= 0:
            assert change.notice is None  # a top-up never warns
    for notices in sent.values():
        assert len(notices) == len(set(notices))  # once per episode

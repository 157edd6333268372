"""The rules of a prepaid account's state (State Grid's "smart payment").

NORMAL → LOW (below the reminder amount: the fee warning, 费用提醒) → ARREARS (zero or
less: the outage warning, 停电预警) → CUT (still in arrears the grace period after
entering them and after the outage warning: the outage notice, 停电通知, and a
disconnect command) → reconnected as soon as a top-up makes the balance positive.

An *episode* begins when an account leaves NORMAL and ends when it is back: each
of the three messages is sent at most once per episode, and an automatic top-up
is asked at most once per episode. The same rule runs in SQL for the set-based
daily accrual (``prepaid_next_state``, ``sql/rules.sql``); the tests hold the two to
the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    NORMAL = "NORMAL"
    LOW = "LOW"
    ARREARS = "ARREARS"
    CUT = "CUT"


# The message each state brings, once per episode.
NOTICES = {State.LOW: "prepaid.low", State.ARREARS: "prepaid.arrears", State.CUT: "prepaid.cut"}


def next_state(state: State, balance: int, reminder: int) -> State:
    """Where a balance change (fen) leaves an account. Only the grace period cuts."""
    if balance > 0:
        return State.NORMAL if balance >= reminder else State.LOW
    return State.CUT if state is State.CUT else State.ARREARS


@dataclass(frozen=True, slots=True)
class Account:
    """What the rules need of a prepaid account."""

    state: State
    balance: int
    episode: int = 0
    notified: frozenset[State] = field(default_factory=frozenset)
    cuts: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    account: Account
    notice: State | None = None  # a message to send
    reconnect: bool = False  # a cut has ended
    disconnect: bool = False  # a cut has begun


def _enter(before: Account, state: State, balance: int, *, warn: bool, cut: bool = False) -> Change:
    episode = before.episode + (before.state is State.NORMAL and state is not State.NORMAL)
    notified = frozenset() if episode != before.episode else before.notified
    notice = state if warn and state in NOTICES and state not in notified else None
    if state is State.NORMAL:
        notified = frozenset()
    elif notice is not None:
        notified = notified | {notice}
    after = Account(state, balance, episode, notified, before.cuts + cut)
    reconnect = before.state is State.CUT and state is not State.CUT
    return Change(after, notice, reconnect=reconnect, disconnect=cut)


def apply_balance(account: Account, delta: int, reminder: int) -> Change:
    """A top-up (delta > 0) or a day's charge (delta < 0). Only a charge warns: a payer who
    has just topped up gets the receipt, not a warning."""
    balance = account.balance + delta
    state = next_state(account.state, balance, reminder)
    return _enter(account, state, balance, warn=delta < 0)


def apply_grace_over(account: Account) -> Change:
    """The grace period after entering ARREARS and after the outage warning is over: cut
    (only an account in ARREARS that was warned in this episode)."""
    if account.state is not State.ARREARS or State.ARREARS not in account.notified:
        return Change(account)
    return _enter(account, State.CUT, account.balance, warn=True, cut=True)

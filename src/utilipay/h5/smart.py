"""What a prepaid (smart payment) account's standing means, in plain words, for its page.

The cut time is the prepaid pass's own rule (``prepaid.cuts.first_cut_moment``): the
biller's grace period after the account entered ARREARS and after this episode's outage
warning, then a working day between 09:00 and 17:00 in Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from utilipay.clock import SHANGHAI
from utilipay.console.i18n import Locale, translator, words
from utilipay.console.templating import yuan
from utilipay.h5.templating import PACKAGE
from utilipay.prepaid.cuts import first_cut_moment
from utilipay.prepaid.rules import State


@dataclass(frozen=True, slots=True)
class Standing:
    """What the explanation needs of a prepaid account, as the hub holds it now."""

    balance: int  # fen
    reminder: int  # fen
    state: State
    state_since: datetime
    grace: timedelta  # the biller's, between arrears (and their warning) and a cut
    warned_at: datetime | None = None  # this episode's outage warning, if it went out
    restored_at: datetime | None = None  # the last reconnect the meter carried out


def first_cut(standing: Standing) -> datetime | None:
    """When supply stops if nobody tops up: None until the outage warning has gone out
    (nobody is cut unwarned) or once the account is no longer in arrears."""
    if standing.state is not State.ARREARS or standing.warned_at is None:
        return None
    return first_cut_moment(standing.state_since, standing.warned_at, standing.grace)


def when(instant: datetime, locale: Locale) -> str:
    """A moment as a payer reads it, in Shanghai: 12月14日 09:00, or 14 Dec 09:00."""
    local = instant.astimezone(SHANGHAI)
    return f"{day_label(local.date(), locale)} {local:%H:%M}"


def day_label(day: date, locale: Locale) -> str:
    """A day as a payer reads it: 12月14日, or 14 Dec."""
    return f"{day.month}月{day.day}日" if locale is Locale.ZH_CN else f"{day.day} {day:%b}"


def explain(standing: Standing, now: datetime, locale: Locale) -> list[str]:
    """The account's standing in sentences: the balance against the reminder amount, and
    whether supply is on, when it will stop, or what brings it back."""
    _ = translator(locale, PACKAGE)
    balance = yuan(standing.balance)
    said: list[str] = []
    if standing.state is State.NORMAL:
        said.append(_(words("Balance {balance}; supply is on."), balance=balance))
    elif standing.state is State.LOW:
        low = words("Balance {balance}, below the reminder amount you set, {reminder}.")
        said.append(_(low, balance=balance, reminder=yuan(standing.reminder)))
        said.append(_(words("Top up soon so that supply is not stopped.")))
    elif standing.state is State.ARREARS:
        owing = words("Balance {balance}: the account is in arrears.")
        said += [_(owing, balance=balance), _arrears_outlook(standing, now, locale)]
    else:
        cut = words("Balance {balance}. Supply was stopped on {time}.")
        said.append(_(cut, balance=balance, time=when(standing.state_since, locale)))
        back = words(
            "Top up at least {needed} (a balance above zero): supply comes back by itself."
        )
        said.append(_(back, needed=yuan(1 - standing.balance)))
    if standing.state is not State.CUT and standing.restored_at is not None:
        restored = when(standing.restored_at, locale)
        said.append(_(words("Supply was restored on {time}."), time=restored))
    return said


def _arrears_outlook(standing: Standing, now: datetime, locale: Locale) -> str:
    _ = translator(locale, PACKAGE)
    cut = first_cut(standing)
    if cut is None:  # enrolled at zero: the first daily charge brings the warning
        unwarned = words(
            "An outage warning goes out with the next daily charge; unless you top up, supply "
            "stops {hours} hours after it, on a working day between 09:00 and 17:00."
        )
        return _(unwarned, hours=int(standing.grace.total_seconds() // 3600))
    if cut <= now:
        return _(words("Unless you top up, supply may be stopped at any moment."))
    return _(words("Unless you top up, supply stops from {time}."), time=when(cut, locale))

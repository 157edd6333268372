"""The kinds of early-warning rule: each a model of its parameters (with defaults a utility
tunes) and a check that says which subjects it fires for, with the figures that made it
fire and a line for people in both languages.

A rule about the utility names the utility's code as its subject, a rule about regions
the region, a rule about accounts ``CODE/account_no``. A utility's rules cover its
branches (a group's figures are its own and its branches').
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.errors import DomainError, ErrorCode
from utilipay.http.json import describe
from utilipay.money import format_yuan
from utilipay.warnings import figures
from utilipay.warnings.figures import Collected

Day = Annotated[int, Field(ge=1, le=31, description="day of the month it applies from")]
Points = Annotated[int, Field(ge=1, le=100, description="percentage points")]
Count = Annotated[int, Field(ge=1, le=1_000_000)]
Fen = Annotated[int, Field(ge=1, le=10**15)]


Given = Mapping[str, int | str]  # a rule's parameters as typed: "10" on the command line
Figures = dict[str, int | str]  # what made a rule fire, for people and the message


class Params(BaseModel):
    # lax: the command line gives "10" for 10; anything unknown is refused
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateBehind(Params):
    day: Day = 10
    points: Points = 5


class RateBelowTarget(Params):
    day: Day = 25
    target_percent: Points = 95


class ArrearsTotal(Params):
    amount_fen: Fen = 10_000_000


class OverdueAccounts(Params):
    count: Count = 100


class AccountArrears(Params):
    amount_fen: Fen = 100_000
    days: Annotated[int, Field(ge=1, le=3660)] = 90


class AutopayFailed(Params):
    times: Annotated[int, Field(ge=1, le=20)] = 2


class PrepaidCutOften(Params):
    times: Annotated[int, Field(ge=1, le=50)] = 2  # fires above it
    days: Annotated[int, Field(ge=1, le=366)] = 90


class PrepaidInArrears(Params):
    count: Count = 50


@dataclass(frozen=True, slots=True)
class At:
    """What a check looks at: a utility (its code) with its branches, on a day."""

    code: str
    billers: frozenset[int]
    today: date
    now: datetime
    # the figures read so far, by what they are: rules of several kinds ask for the same
    # (today's rate, the overdue total), each a scan of a month's or all unpaid bills
    read: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Firing:
    subject: str
    figures: Figures
    en: str
    zh: str


P = TypeVar("P", bound=Params)
T = TypeVar("T")


async def _once(at: At, what: str, read: Callable[[], Awaitable[T]]) -> T:
    """The figure ``what``, read at most once per evaluation of a utility."""
    if what not in at.read:
        at.read[what] = await read()
    return cast(T, at.read[what])


async def _rate_on(conn: AsyncConnection, at: At, day: date) -> Collected:
    return await _once(at, f"rate {day}", lambda: figures.rate_on(conn, at.billers, day))


async def _arrears_of(conn: AsyncConnection, at: At) -> tuple[int, int]:
    return await _once(at, "arrears", lambda: figures.arrears_total(conn, at.billers, at.today))


def _about_utility(at: At, figures: Figures, en: str, zh: str) -> list[Firing]:
    """A rule about the whole utility fires once, with the utility as its subject."""
    return [Firing(at.code, figures, en, zh)]


def _pct(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}%"


def _same_day(today: date, months_back: int) -> date:
    """Today's day of the month, ``months_back`` months ago (the 31st → that month's last)."""
    month = today.year * 12 + today.month - 1 - months_back
    first = date(month // 12, month % 12 + 1, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=min(today.day, last.day))


def _behind(now: Collected, then: Collected, points: int) -> dict[str, int] | None:
    if now.rate_bp is None or then.rate_bp is None or then.rate_bp - now.rate_bp < points * 100:
        return None
    return {"rate_bp": now.rate_bp, "then_rate_bp": then.rate_bp, "billed": now.billed,
            "collected": now.collected}  # fmt: skip


def _rate_behind(
    months_back: int, en_then: str, zh_then: str
) -> Callable[[AsyncConnection, At, RateBehind], Awaitable[list[Firing]]]:
    async def check(conn: AsyncConnection, at: At, p: RateBehind) -> list[Firing]:
        if at.today.day < p.day:
            return []
        now = await _rate_on(conn, at, at.today)
        then = await _rate_on(conn, at, _same_day(at.today, months_back))
        found = _behind(now, then, p.points)
        if found is None:
            return []
        rate, was = _pct(found["rate_bp"]), _pct(found["then_rate_bp"])
        return _about_utility(
            at, {"day": at.today.isoformat(), **found},
            f"collection rate {rate} on day {at.today.day}, {en_then} {was}",
            f"截至{at.today.day}日回收率{rate}，{zh_then}为{was}",
        )  # fmt: skip

    return check


async def _rate_below_target(conn: AsyncConnection, at: At, p: RateBelowTarget) -> list[Firing]:
    if at.today.day < p.day:
        return []
    now = await _rate_on(conn, at, at.today)
    if now.rate_bp is None or now.rate_bp >= p.target_percent * 100:
        return []
    rate = _pct(now.rate_bp)
    return _about_utility(
        at,
        {"day": at.today.isoformat(), "rate_bp": now.rate_bp, "billed": now.billed,
         "collected": now.collected},
        f"collection rate {rate} on day {at.today.day}, below the target {p.target_percent}%",
        f"截至{at.today.day}日回收率{rate}，低于目标{p.target_percent}%",
    )  # fmt: skip


async def _region_rate_drop(conn: AsyncConnection, at: At, p: RateBehind) -> list[Firing]:
    if at.today.day < p.day:
        return []
    now = await figures.region_rates_on(conn, at.billers, at.today)
    then = await figures.region_rates_on(conn, at.billers, _same_day(at.today, 1))
    firing = []
    for region, collected in sorted(now.items()):
        found = _behind(collected, then.get(region, Collected(0, 0)), p.points)
        if found is not None:
            rate, was = _pct(found["rate_bp"]), _pct(found["then_rate_bp"])
            firing.append(
                Firing(
                    region, {"day": at.today.isoformat(), **found},
                    f"{region}: collection rate {rate} on day {at.today.day}, {was} last month",
                    f"{region}：截至{at.today.day}日回收率{rate}，上月同期为{was}",
                )
            )  # fmt: skip
    return firing


async def _arrears_total(conn: AsyncConnection, at: At, p: ArrearsTotal) -> list[Firing]:
    accounts, amount = await _arrears_of(conn, at)
    if amount < p.amount_fen:
        return []
    owed, limit = format_yuan(amount), format_yuan(p.amount_fen)
    return _about_utility(
        at, {"accounts": accounts, "amount": amount},
        f"{accounts} accounts owe {owed} yuan overdue, over {limit} yuan",
        f"{accounts}户逾期欠费共{owed}元，超过{limit}元",
    )  # fmt: skip


async def _overdue_accounts(conn: AsyncConnection, at: At, p: OverdueAccounts) -> list[Firing]:
    accounts, amount = await _arrears_of(conn, at)
    if accounts < p.count:
        return []
    owed = format_yuan(amount)
    return _about_utility(
        at, {"accounts": accounts, "amount": amount},
        f"{accounts} accounts owe overdue bills ({owed} yuan), at least {p.count}",
        f"逾期欠费{accounts}户（共{owed}元），达到{p.count}户",
    )  # fmt: skip


async def _account_arrears(conn: AsyncConnection, at: At, p: AccountArrears) -> list[Firing]:
    due_by = at.today - timedelta(days=p.days)
    found = await figures.accounts_in_arrears(conn, at.billers, at.today, p.amount_fen, due_by)
    return [
        Firing(
            f"{a.biller}/{a.account_no}",
            {"amount": a.amount, "oldest_due": a.oldest_due.isoformat(),
             "days": (at.today - a.oldest_due).days},
            f"account {a.account_no} owes {format_yuan(a.amount)} yuan overdue, "
            f"{(at.today - a.oldest_due).days} days since the oldest due date",
            f"户号{a.account_no}逾期欠费{format_yuan(a.amount)}元，"
            f"最早一笔已逾期{(at.today - a.oldest_due).days}天",
        )
        for a in found
    ]  # fmt: skip


async def _autopay_failed(conn: AsyncConnection, at: At, p: AutopayFailed) -> list[Firing]:
    found = await figures.autopay_failing(conn, at.billers, p.times)
    return [
        Firing(
            f"{code}/{account_no}", {"times": p.times},
            f"account {account_no}: the last {p.times} auto-pay debits failed",
            f"户号{account_no}：最近{p.times}次代扣均失败",
        )
        for code, account_no in found
    ]  # fmt: skip


async def _prepaid_cut_often(conn: AsyncConnection, at: At, p: PrepaidCutOften) -> list[Firing]:
    since = at.now - timedelta(days=p.days)
    found = await figures.prepaid_cut_often(conn, at.billers, since, p.times)
    return [
        Firing(
            f"{code}/{account_no}", {"cuts": cuts, "days": p.days},
            f"prepaid account {account_no} cut {cuts} times in {p.days} days",
            f"预付费户号{account_no}在{p.days}天内停电{cuts}次",
        )
        for code, account_no, cuts in found
    ]  # fmt: skip


async def _prepaid_in_arrears(conn: AsyncConnection, at: At, p: PrepaidInArrears) -> list[Firing]:
    accounts = await figures.prepaid_in_arrears(conn, at.billers)
    if accounts < p.count:
        return []
    return _about_utility(
        at, {"accounts": accounts},
        f"{accounts} prepaid accounts in arrears or cut, at least {p.count}",
        f"{accounts}户预付费账户欠费或已停电，达到{p.count}户",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kind(Generic[P]):
    params: type[P]
    check: Callable[[AsyncConnection, At, P], Awaitable[list[Firing]]]
    what: str  # for people choosing a kind

    async def fire(self, conn: AsyncConnection, at: At, params: Mapping[str, int]) -> list[Firing]:
        return await self.check(conn, at, self.params.model_validate(params))


# Any: each kind checks its own parameters' model
KINDS: Mapping[str, Kind[Any]] = {
    "rate_behind_last_month": Kind(
        RateBehind, _rate_behind(1, "on the same day last month", "上月同期"),
        "from day N, the month's collection rate is X points below the same day last month",
    ),
    "rate_behind_last_year": Kind(
        RateBehind, _rate_behind(12, "on the same day last year", "去年同期"),
        "from day N, the month's collection rate is X points below the same day last year",
    ),
    "rate_below_target": Kind(
        RateBelowTarget, _rate_below_target,
        "from day N, the month's collection rate is below a target",
    ),
    "region_rate_drop": Kind(
        RateBehind, _region_rate_drop,
        "from day N, a region's collection rate is X points below the same day last month",
    ),
    "arrears_total": Kind(
        ArrearsTotal, _arrears_total, "the overdue arrears of all accounts pass an amount"
    ),
    "overdue_accounts": Kind(
        OverdueAccounts, _overdue_accounts, "the number of accounts in arrears passes a count"
    ),
    "account_arrears": Kind(
        AccountArrears, _account_arrears,
        "an account's overdue arrears pass an amount, or its oldest passes an age in days",
    ),
    "autopay_failed_twice": Kind(
        AutopayFailed, _autopay_failed, "an account's last N auto-pay debits all failed"
    ),
    "prepaid_cut_often": Kind(
        PrepaidCutOften, _prepaid_cut_often,
        "a prepaid account was cut more than N times in the last D days",
    ),
    "prepaid_in_arrears": Kind(
        PrepaidInArrears, _prepaid_in_arrears,
        "the number of prepaid accounts in arrears or cut passes a count",
    ),
}  # fmt: skip


def kind_of(name: str) -> Kind[Any]:
    kind = KINDS.get(name)
    if kind is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"unknown rule kind {name!r}; the kinds are {', '.join(KINDS)}",
        )
    return kind


def parse_params(name: str, given: Given) -> dict[str, int]:
    """The full parameters of a rule of kind ``name``: ``given`` over the kind's defaults."""
    try:
        full: dict[str, int] = kind_of(name).params.model_validate(dict(given)).model_dump()
        return full
    except ValidationError as exc:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"parameters of {name}: {describe(exc.errors())}"
        ) from None

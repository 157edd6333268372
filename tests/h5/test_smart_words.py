"""Smart payment's plain words (``h5.smart.explain``), one test per state, and the 30-day
chart's layout (``h5.usage``), without a browser: the cut time follows the prepaid pass's
rule (the grace period after arrears and after the outage warning, then the next working
day's 09:00-17:00 window, Shanghai time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from utilipay.clock import SHANGHAI
from utilipay.console.i18n import Locale
from utilipay.h5.smart import Standing, explain, first_cut
from utilipay.h5.usage import BASELINE, PLOT, usage_chart
from utilipay.prepaid.queries import Day
from utilipay.prepaid.rules import State

DAY = timedelta(days=1)
ZH = Locale.ZH_CN


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Shanghai (the 11th a Friday, the 14th a Monday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def standing(state: State, balance: int, **more: object) -> Standing:
    values: dict[str, object] = {"reminder": 2000, "state_since": at(11, 15, 30), "grace": DAY}
    return Standing(balance=balance, state=state, **(values | more))  # type: ignore[arg-type]


def test_normal_says_supply_is_on() -> None:
    assert explain(standing(State.NORMAL, 5000), at(12, 10), ZH) == ["余额 ¥50.00，供电正常。"]


def test_low_names_the_reminder_amount_the_payer_set() -> None:
    said = explain(standing(State.LOW, 1520), at(12, 10), ZH)
    assert said == ["余额 ¥15.20，低于您设置的提醒金额 ¥20.00。", "请及时充值，以免欠费停电。"]


def test_arrears_warned_on_friday_afternoon_are_cut_from_monday_nine() -> None:
    # the grace ends on Saturday 15:30: nobody is cut at a weekend, so Monday at 09:00
    owing = standing(State.ARREARS, -300, warned_at=at(11, 15, 30))
    assert first_cut(owing) == at(14, 9)
    assert explain(owing, at(12, 10), ZH) == [
        "余额 ¥-3.00，已欠费。",
        "如不充值，将于 12月14日 09:00 起停止供电。",
    ]


def test_arrears_cut_within_the_working_hours_when_the_grace_ends_in_them() -> None:
    owing = standing(State.ARREARS, 0, state_since=at(14, 10), warned_at=at(14, 10, 5))
    assert first_cut(owing) == at(15, 10, 5)  # the later of arrears and warning, plus 24 h
    early = standing(State.ARREARS, 0, state_since=at(14, 7), warned_at=at(14, 7))
    assert first_cut(early) == at(15, 9)  # 07:00 on a working day: from 09:00 the same day
    late = standing(State.ARREARS, 0, state_since=at(14, 18), warned_at=at(14, 18))
    assert first_cut(late) == at(16, 9)  # 18:00: the next working day


def test_arrears_past_the_cut_time_may_be_cut_any_moment() -> None:
    owing = standing(State.ARREARS, -300, warned_at=at(11, 15, 30))
    assert explain(owing, at(14, 9, 5), ZH)[1] == "如不充值，随时可能停止供电。"


def test_arrears_not_warned_yet_say_the_rule_not_a_time() -> None:
    unwarned = standing(State.ARREARS, 0)  # enrolled at zero: warned by the first charge
    assert first_cut(unwarned) is None
    assert explain(unwarned, at(12, 10), ZH)[1] == (
        "下次日结扣费时将发出停电预警；预警发出 24 小时后仍未充值，"
        "将在工作日 09:00 至 17:00 之间停止供电。"
    )


def test_cut_says_since_when_and_what_reconnects() -> None:
    cut = standing(State.CUT, -500, state_since=at(14, 9, 15))
    assert first_cut(cut) is None
    assert explain(cut, at(14, 12), ZH) == [
        "余额 ¥-5.00，已于 12月14日 09:15 停止供电。",
        "充值至少 ¥5.01（使余额大于零）后将自动恢复供电。",
    ]


def test_restored_says_when_supply_came_back() -> None:
    back = standing(State.NORMAL, 3000, restored_at=at(14, 10, 2))
    assert explain(back, at(14, 12), ZH)[-1] == "已于 12月14日 10:02 恢复供电。"
    assert explain(back, at(14, 12), Locale.EN) == [
        "Balance ¥30.00; supply is on.",
        "Supply was restored on 14 Dec 10:02.",
    ]


def used(day: date, kwh: str) -> Day:
    return Day(day, Decimal(kwh), 0, 0)


def test_the_chart_has_a_bar_per_settled_day_and_gaps_for_the_rest() -> None:
    last = date(2026, 11, 21)
    days = [used(last - n * DAY, "4") for n in range(3, 20)] + [used(last - 5 * DAY, "8")]
    days[0] = used(last - 3 * DAY, "0")  # settled, nothing used: a bar of no height
    days.append(used(last - 40 * DAY, "9"))  # before the 30 days: not shown
    chart = usage_chart(days, last)
    assert (len(chart.slots), len(chart.bars), chart.gaps) == (30, 17, 13)
    assert chart.slots[0].day == date(2026, 10, 23) and chart.slots[-1].day == last
    assert chart.peak is not None and chart.peak.day == last - 5 * DAY
    assert (chart.peak.height, chart.peak.y) == (Decimal(PLOT), Decimal(BASELINE - PLOT))
    heights = {s.day: s.height for s in chart.bars}
    assert heights[last - 4 * DAY] == PLOT / 2 and heights[last - 3 * DAY] == 0
    assert chart.total == Decimal("4") * 15 + Decimal("8")

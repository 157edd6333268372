"""Payment anomalies as plain rules over figures: the last minutes of a channel of a
utility (the window) against the same minutes of each of the recent days (the baseline).

Four kinds, each with a ratio and a verdict:

- ``failures``: the share of finished payments that failed, against the baseline's share;
- ``unknown``: the share of payments still PROCESSING though the window ended at least a
  few seconds ago (the outcome unknown, 掉单 in the making), against the baseline's share;
- ``latency``: the mean time from created to finished, against the baseline's mean;
- ``volume``: how many payments arrived, against the median of the baseline days (a fall).

Every rule needs a minimum of volume before it fires, so a quiet channel at night, where
one failure in three payments is a 33 % rate, pages nobody; and a rise needs an absolute
level too (a failure rate from 0.1 % to 0.4 % is a rise, not an incident). A baseline
rate or latency is floored, so a channel that never failed is not infinitely worse after
its first failures. No database, no clock: what ``metrics.traffic`` reads is judged here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from statistics import median
from types import MappingProxyType

from utilipay.payments.minutes import LATENCY_BOUNDS
from utilipay.payments.schemas import PaymentStatus


class Kind(StrEnum):
    FAILURES = "failures"
    UNKNOWN = "unknown"
    LATENCY = "latency"
    VOLUME = "volume"


@dataclass(frozen=True, slots=True)
class Figures:
    """Payments created in a span: how many in each status, and the latency of the
    finished ones (summed, and how many took at most each bound)."""

    statuses: Mapping[PaymentStatus, int] = field(default_factory=lambda: MappingProxyType({}))
    latency_ms: int = 0
    within: tuple[int, ...] = (0,) * len(LATENCY_BOUNDS)

    @property
    def payments(self) -> int:
        return sum(self.statuses.values())

    @property
    def unknown(self) -> int:
        return self.statuses.get(PaymentStatus.PROCESSING, 0)

    @property
    def failed(self) -> int:
        return self.statuses.get(PaymentStatus.FAILED, 0)

    @property
    def finished(self) -> int:
        return self.payments - self.unknown

    @property
    def mean_latency(self) -> float:
        """Seconds, of the finished payments (0 when none finished)."""
        return self.latency_ms / 1000 / self.finished if self.finished else 0.0

    def __add__(self, other: Figures) -> Figures:
        statuses = dict(self.statuses)
        for status, count in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        return Figures(
            MappingProxyType(statuses),
            self.latency_ms + other.latency_ms,
            tuple(a + b for a, b in zip(self.within, other.within, strict=True)),
        )


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds. The defaults page for a channel whose failures or unknown outcomes
    reach 5 % and three times their usual share, whose mean latency reaches 2 s and three
    times its usual mean, or whose volume halves — each with enough payments to mean it."""

    window: timedelta = timedelta(minutes=15)
    # a window ends this long before now: its PROCESSING payments are at least this old
    grace: timedelta = timedelta(seconds=10)
    baseline_days: int = 7
    min_payments: int = 20  # in the window, for failures, unknown outcomes and latency
    min_events: int = 5  # failed or unknown payments in the window
    rate_floor: float = 0.01  # a baseline share below this counts as this
    rate_alarm: float = 0.05  # the share that may page (with the rise)
    rise: float = 3.0  # window ÷ baseline that pages
    latency_floor: float = 0.5  # seconds; a baseline mean below this counts as this
    latency_alarm: float = 2.0  # seconds of mean latency that may page (with the rise)
    volume_baseline_min: int = 30  # median payments of the baseline days' windows
    volume_fall: float = 0.5  # window ÷ baseline at or below this pages


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    ratio: float  # the window against the baseline (a rise > 1, a fall < 1)
    firing: bool


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _share_rise(kind: Kind, part: int, whole: int, usual: float, rules: Rules) -> Verdict:
    rate = _rate(part, whole)
    ratio = rate / max(usual, rules.rate_floor)
    firing = (
        whole >= rules.min_payments
        and part >= rules.min_events
        and rate >= rules.rate_alarm
        and ratio >= rules.rise
    )
    return Verdict(kind, ratio, firing)


def failures(window: Figures, baseline: Figures, rules: Rules) -> Verdict:
    usual = _rate(baseline.failed, baseline.finished)
    return _share_rise(Kind.FAILURES, window.failed, window.finished, usual, rules)


def unknown(window: Figures, baseline: Figures, rules: Rules) -> Verdict:
    usual = _rate(baseline.unknown, baseline.payments)
    return _share_rise(Kind.UNKNOWN, window.unknown, window.payments, usual, rules)


def latency(window: Figures, baseline: Figures, rules: Rules) -> Verdict:
    mean = window.mean_latency
    ratio = mean / max(baseline.mean_latency, rules.latency_floor)
    firing = (
        window.finished >= rules.min_payments
        and mean >= rules.latency_alarm
        and ratio >= rules.rise
    )
    return Verdict(Kind.LATENCY, ratio, firing)


def volume(window: Figures, days: Sequence[Figures], rules: Rules) -> Verdict:
    """``days``: the window's span on each baseline day (a day without payments included)."""
    usual = median(d.payments for d in days) if days else 0
    ratio = window.payments / usual if usual else 1.0
    firing = usual >= rules.volume_baseline_min and ratio <= rules.volume_fall
    return Verdict(Kind.VOLUME, ratio, firing)


def judge(window: Figures, days: Sequence[Figures], rules: Rules) -> list[Verdict]:
    """Every kind's verdict on a window against its baseline days."""
    baseline = sum(days, Figures())
    return [
        failures(window, baseline, rules),
        unknown(window, baseline, rules),
        latency(window, baseline, rules),
        volume(window, days, rules),
    ]

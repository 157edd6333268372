"""The payments of the last minutes per utility and channel, judged against the same
minutes of recent days (``anomalies``): what ``/metrics`` exposes and the console's
dashboard shows.

One read of ``payment_minutes`` (``payments.minutes.spans``: the window and each baseline
day, through the index on the minute) and two of the directories for the codes; the
window ends ``grace`` before now, on a whole minute, so every minute in it is complete.
Each channel of each utility is judged; for the hub's operators (every utility in scope)
each channel over all utilities (utility ``*``) and each utility over all its channels
(channel ``*``) too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.metrics.anomalies import Figures, Rules, Verdict, judge
from utilipay.payments import minutes
from utilipay.payments.minutes import MinuteCount

ALL = "*"  # the label of a total over utilities or channels
_CODES = """
SELECT 'biller' AS kind, id, code FROM billers_directory
UNION ALL
SELECT 'channel', id, code FROM channels_directory
"""


@dataclass(frozen=True, slots=True)
class Watched:
    """A channel of a utility (or a total), its window and its verdicts."""

    biller: str
    channel: str
    window: Figures
    verdicts: list[Verdict]

    @property
    def firing(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.firing]


@dataclass(frozen=True, slots=True)
class Traffic:
    since: datetime
    until: datetime
    watched: list[Watched]

    @property
    def anomalies(self) -> list[tuple[Watched, Verdict]]:
        return [(w, v) for w in self.watched for v in w.firing]


def window_of(now: datetime, rules: Rules) -> tuple[datetime, datetime]:
    """The window's first minute and the whole minute it ends on, ``grace`` before now."""
    until = (now - rules.grace).replace(second=0, microsecond=0)
    return until - rules.window, until


def _figures(count: MinuteCount) -> Figures:
    return Figures(MappingProxyType({count.status: count.payments}), count.latency_ms,
                   count.within)  # fmt: skip


def _keys(biller: str, channel: str, totals: bool) -> Iterable[tuple[str, str]]:
    yield biller, channel
    if totals:
        yield ALL, channel
        yield biller, ALL


async def _codes(conn: AsyncConnection) -> dict[tuple[str, int], str]:
    return {(r.kind, r.id): r.code for r in await conn.execute(text(_CODES))}


async def traffic(
    conn: AsyncConnection, now: datetime, rules: Rules, billers: frozenset[int] | None
) -> Traffic:
    """Each channel of each utility in ``billers`` (None: all, and the totals) as of ``now``."""
    since, until = window_of(now, rules)
    counts = await minutes.spans(conn, since, until, rules.baseline_days, billers)
    codes = await _codes(conn)
    days: dict[tuple[str, str], list[Figures]] = defaultdict(
        lambda: [Figures()] * (rules.baseline_days + 1)
    )
    for count in counts:
        biller = codes.get(("biller", count.biller_id), str(count.biller_id))
        channel = codes.get(("channel", count.channel_id), str(count.channel_id))
        for key in _keys(biller, channel, totals=billers is None):
            days[key][count.days_back] += _figures(count)
    watched = [
        Watched(biller, channel, spans[0], judge(spans[0], spans[1:], rules))
        for (biller, channel), spans in sorted(days.items())
    ]
    return Traffic(since, until, watched)

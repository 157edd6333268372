"""Payment anomalies: the rules on their own (no database), each kind firing on a history
written into ``payments`` with an injected clock and staying quiet below the minimum
volume, the gauges of ``/metrics``, a scrape's read through the index on the minute, and
the shipped Prometheus alerting rules naming only metrics ``/metrics`` exposes."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import START, channel, water
from tests.metrics.test_metrics import _scans, scrape
from tests.payments.history import write_payments
from utilipay.metrics.anomalies import Figures, Kind, Rules, judge
from utilipay.metrics.traffic import ALL, traffic, window_of
from utilipay.payments.minutes import _SPANS
from utilipay.payments.schemas import PaymentStatus

RULES = Rules()
SINCE, UNTIL = window_of(START, RULES)  # 07:14 to 07:29 UTC, START being 07:30
RULES_FILE = Path(__file__).parents[2] / "docs" / "alerts" / "utilipay.rules.yml"
S, F, P = PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.PROCESSING


def figures(latency_s: float = 0.2, **statuses: int) -> Figures:
    counts = {PaymentStatus(k.upper()): v for k, v in statuses.items()}
    finished = sum(v for k, v in counts.items() if k is not P)
    return Figures(MappingProxyType(counts), round(finished * latency_s * 1000))


def firing(window: Figures, days: list[Figures]) -> set[Kind]:
    return {v.kind for v in judge(window, days, RULES) if v.firing}


USUAL = [figures(succeeded=39, failed=1)] * 7  # the same minutes of each of 7 days


def test_each_kind_fires_on_its_rise_or_fall_and_no_other() -> None:
    assert firing(figures(succeeded=38, failed=2), USUAL) == set()
    assert firing(figures(succeeded=30, failed=10), USUAL) == {Kind.FAILURES}
    assert firing(figures(succeeded=32, processing=8), USUAL) == {Kind.UNKNOWN}
    assert firing(figures(latency_s=8, succeeded=40), USUAL) == {Kind.LATENCY}
    assert firing(figures(succeeded=15), USUAL) == {Kind.VOLUME}
    assert firing(figures(), USUAL) == {Kind.VOLUME}  # nothing at all: the worst fall


def test_a_quiet_channel_pages_nobody() -> None:
    night = [figures(succeeded=3)] * 7
    assert firing(figures(failed=3), night) == set()  # 100 % failed, of three payments
    assert firing(figures(processing=4), night) == set()
    assert firing(figures(latency_s=30, succeeded=4), night) == set()
    assert firing(figures(), night) == set()  # a night without payments


def test_a_rise_needs_an_absolute_level_and_the_ratio_says_how_far() -> None:
    smooth = [figures(succeeded=10_000)] * 7
    (fail, *_) = judge(figures(succeeded=980, failed=20), smooth, RULES)
    assert (fail.kind, fail.firing, fail.ratio) == (Kind.FAILURES, False, 2.0)  # 2 % vs 1 %
    # against a floor of 1 %: 10 % failures is 10 times the usual of a channel never failing
    (fail, *_) = judge(figures(succeeded=90, failed=10), smooth, RULES)
    assert fail.firing
    assert fail.ratio == pytest.approx(10.0)
    (*_, volume) = judge(figures(succeeded=6_000), smooth, RULES)
    assert (volume.firing, volume.ratio) == (False, 0.6)
    (*_, latency, _) = judge(figures(latency_s=1.5, succeeded=100), smooth, RULES)
    assert (latency.firing, latency.ratio) == (False, 3.0)  # 3 × the floor, under 2 s


def test_the_volume_baseline_is_the_median_day() -> None:
    holiday = [figures(succeeded=40)] * 6 + [figures(succeeded=1000)]
    (*_, volume) = judge(figures(succeeded=20), holiday, RULES)
    assert (volume.firing, volume.ratio) == (True, 0.5)


# A history: 40 payments in the window's minutes on each of the 7 days before, one failed
async def _usual_days(engine: AsyncEngine, world: dict[str, object], per_day: int) -> None:
    biller, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        for back in range(1, 8):
            since = SINCE - timedelta(days=back)
            await write_payments(
                conn,
                biller=biller,
                channel=wx,
                prefix=f"D{back}-",
                n=per_day - 1,
                created=since,
                spacing=timedelta(seconds=20),
            )
            await write_payments(conn, biller=biller, channel=wx, prefix=f"D{back}F-", n=1,
                                 created=since, status="FAILED")  # fmt: skip


async def _window(
    engine: AsyncEngine, world: dict[str, object], *parts: tuple[str, int, float]
) -> None:
    """(status, how many, latency in seconds) in the window, one every 10 s."""
    biller, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        for status, n, latency in parts:
            await write_payments(conn, biller=biller, channel=wx, prefix=f"W{status}-", n=n,
                                 created=SINCE, status=status, spacing=timedelta(seconds=10),
                                 latency=timedelta(seconds=latency))  # fmt: skip
        # after the window: not counted yet (younger than the grace, or its minute not over)
        await write_payments(conn, biller=biller, channel=wx, prefix="young-", n=50,
                             created=UNTIL, status="PROCESSING")  # fmt: skip


async def _fired(engine: AsyncEngine) -> set[tuple[str, str, Kind]]:
    async with engine.connect() as conn:
        seen = await traffic(conn, START, RULES, None)
    assert (seen.since, seen.until) == (SINCE, UNTIL)
    return {(w.biller, w.channel, v.kind) for w, v in seen.anomalies}


def _everywhere(*kinds: Kind) -> set[tuple[str, str, Kind]]:
    """The channel of the utility, the channel over utilities, the utility over channels."""
    places = [("BJWATER", "WECHAT"), (ALL, "WECHAT"), ("BJWATER", ALL)]
    return {(b, c, k) for b, c in places for k in kinds}


@pytest.mark.parametrize(
    ("window", "kinds"),
    [
        ([("SUCCEEDED", 38, 0.2), ("FAILED", 2, 0.2)], ()),
        ([("SUCCEEDED", 30, 0.2), ("FAILED", 10, 0.3)], (Kind.FAILURES,)),
        ([("SUCCEEDED", 32, 0.2), ("PROCESSING", 8, 0)], (Kind.UNKNOWN,)),
        ([("SUCCEEDED", 40, 8.0)], (Kind.LATENCY,)),
        ([("SUCCEEDED", 12, 0.2)], (Kind.VOLUME,)),
    ],
    ids=["usual", "failures", "unknown", "latency", "volume"],
)
async def test_each_kind_fires_on_a_history_of_payments(
    engine: AsyncEngine,
    world: dict[str, object],
    window: list[tuple[str, int, float]],
    kinds: tuple[Kind, ...],
) -> None:
    await _usual_days(engine, world, per_day=40)
    await _window(engine, world, *window)
    assert await _fired(engine) == _everywhere(*kinds)


async def test_below_the_minimum_volume_nothing_fires(
    engine: AsyncEngine, world: dict[str, object]
) -> None:
    await _usual_days(engine, world, per_day=4)  # a channel's quiet hour
    await _window(engine, world, ("FAILED", 3, 0.2), ("PROCESSING", 4, 0), ("SUCCEEDED", 3, 30))
    assert await _fired(engine) == set()


async def test_metrics_expose_the_window_the_latency_and_the_anomalies(
    admin: httpx.AsyncClient, engine: AsyncEngine, world: dict[str, object]
) -> None:
    await _usual_days(engine, world, per_day=40)
    await _window(engine, world, ("SUCCEEDED", 30, 0.7), ("FAILED", 10, 3.0))
    seen = await scrape(admin)
    place = ("BJWATER", "WECHAT")
    assert seen[("utilipay_payments_window_seconds", ())] == 900
    assert seen[("utilipay_payments_window_total", (*place, "SUCCEEDED"))] == 30
    assert seen[("utilipay_payments_window_total", (*place, "FAILED"))] == 10
    assert seen[("utilipay_payments_window_total", ("*", "WECHAT", "FAILED"))] == 10
    buckets = {q[2]: v for (n, q), v in seen.items()
               if n == "utilipay_payment_latency_seconds_bucket" and q[:2] == place}  # fmt: skip
    assert buckets == {"0.5": 0, "1.0": 30, "2.0": 30, "5.0": 40, "10.0": 40, "30.0": 40,
                       "+Inf": 40}  # fmt: skip
    assert seen[("utilipay_payment_latency_seconds_sum", place)] == 30 * 0.7 + 10 * 3.0
    assert seen[("utilipay_payment_latency_seconds_count", place)] == 40
    assert seen[("utilipay_payment_anomaly", (*place, "failures"))] == 1
    ratio = seen[("utilipay_payment_anomaly_ratio", (*place, "failures"))]
    assert ratio == pytest.approx(10.0)  # 25 % against 2.5 %
    assert seen[("utilipay_payment_anomaly", (*place, "latency"))] == 0  # 1.27 s on average
    assert seen[("utilipay_payment_anomaly", (*place, "volume"))] == 0
    assert seen[("utilipay_payment_anomaly_ratio", (*place, "volume"))] == 1.0


async def test_a_scrape_reads_the_minutes_through_the_index_on_the_minute(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        sql = f"EXPLAIN (FORMAT JSON) {_SPANS.format(scope='')}"
        params = {"since": SINCE, "until": UNTIL, "days_back": RULES.baseline_days}
        plan = (await conn.execute(text(sql), params)).scalar_one()[0]["Plan"]
    reads = [n for n in _scans(plan) if n.get("Relation Name") == "payment_minutes"]
    assert [n.get("Index Name") for n in reads] == ["payment_minutes_by_minute"]


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\butilipay_[a-z_]+\b", expr))


async def test_every_alerting_rule_names_metrics_that_metrics_exposes(
    admin: httpx.AsyncClient, world: dict[str, object]
) -> None:
    shipped = yaml.safe_load(RULES_FILE.read_text())
    rules = [rule for group in shipped["groups"] for rule in group["rules"]]
    exposed = {name for name, _ in await scrape(admin)}
    r = await admin.get("/metrics")
    exposed |= set(re.findall(r"^# TYPE (\S+)", r.text, re.MULTILINE))  # families still empty
    assert rules
    for rule in rules:
        names = _metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exposed, (rule["alert"], names - exposed)
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["for"], rule["alert"]
        assert "summary" in rule["annotations"], rule["alert"]
    kinds = {k.value for k in Kind}
    watched = {m for rule in rules for m in re.findall(r'kind="([a-z]+)"', rule["expr"])}
    assert watched == kinds  # every kind of anomaly has its alert

"""The payments' recent traffic as Prometheus gauges: the window's payments per status,
their latency as a histogram of gauges (``_bucket`` with ``le``, ``_sum``, ``_count``, so
``histogram_quantile`` reads it), and each anomaly kind's verdict (1/0) and ratio.

Every family is a gauge of the window as of the scrape, not a counter: the figures are
read from the database at each scrape and are the same whichever process answers.
``NAMES`` lists them, for the shipped alerting rules' test.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from utilipay.metrics.traffic import Traffic
from utilipay.payments.minutes import LATENCY_BOUNDS

WINDOW = "utilipay_payments_window_total"
LATENCY = "utilipay_payment_latency_seconds"
ANOMALY = "utilipay_payment_anomaly"
RATIO = "utilipay_payment_anomaly_ratio"
WINDOW_SECONDS = "utilipay_payments_window_seconds"
NAMES = (
    WINDOW, f"{LATENCY}_bucket", f"{LATENCY}_sum", f"{LATENCY}_count", ANOMALY, RATIO,
    WINDOW_SECONDS,
)  # fmt: skip
_PLACE = ["biller", "channel"]


class TrafficCollector(Collector):
    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            WINDOW_SECONDS,
            "The length of the window the payments' gauges count (it ends a few seconds ago)",
            value=(self.traffic.until - self.traffic.since).total_seconds(),
        )
        yield self._statuses()
        yield from self._latency()
        yield from self._verdicts()

    def _statuses(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            WINDOW,
            "Payments created in the window, per utility, channel and status now"
            " (utility or channel * : all of them)",
            labels=[*_PLACE, "status"],
        )
        for w in self.traffic.watched:
            for status, count in sorted(w.window.statuses.items()):
                family.add_metric([w.biller, w.channel, status.value], count)
        return family

    def _latency(self) -> Iterator[GaugeMetricFamily]:
        what = "of the payments created in the window and finished, created to finished"
        buckets = GaugeMetricFamily(
            f"{LATENCY}_bucket", f"How many took at most le seconds, {what}",
            labels=[*_PLACE, "le"],
        )  # fmt: skip
        total = GaugeMetricFamily(f"{LATENCY}_sum", f"Seconds summed, {what}", labels=_PLACE)
        count = GaugeMetricFamily(f"{LATENCY}_count", f"How many, {what}", labels=_PLACE)
        for w in self.traffic.watched:
            place = [w.biller, w.channel]
            for (_, bound), within in zip(LATENCY_BOUNDS, w.window.within, strict=True):
                buckets.add_metric([*place, str(bound)], within)
            buckets.add_metric([*place, "+Inf"], w.window.finished)
            total.add_metric(place, w.window.latency_ms / 1000)
            count.add_metric(place, w.window.finished)
        yield from (buckets, total, count)

    def _verdicts(self) -> Iterator[GaugeMetricFamily]:
        anomaly = GaugeMetricFamily(
            ANOMALY,
            "1 when the kind of anomaly (failures, unknown, latency, volume) is seen on the"
            " channel of the utility, against the same minutes of recent days; else 0",
            labels=[*_PLACE, "kind"],
        )
        ratio = GaugeMetricFamily(
            RATIO,
            "The window against the baseline for each kind: the failures' or unknown"
            " outcomes' share, the mean latency (a rise > 1), the volume (a fall < 1)",
            labels=[*_PLACE, "kind"],
        )
        for w in self.traffic.watched:
            for v in w.verdicts:
                labels = [w.biller, w.channel, v.kind.value]
                anomaly.add_metric(labels, 1 if v.firing else 0)
                ratio.add_metric(labels, v.ratio)
        yield from (anomaly, ratio)

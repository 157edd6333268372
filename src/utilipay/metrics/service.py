"""What an operator is paged for, measured where it is true for every process: the database.

Each backlog is a queue of work the hub owes somebody — payments whose outcome is
unknown (掉单), events not yet dispatched, webhooks, messages, debits, meter commands
not yet delivered, exceptions and corrections waiting for a person, payouts the bank
has not confirmed — with how many items wait and how long the oldest has waited.
Counting them at each scrape is cheap: every query below reads a partial index of
the items still open (or a table that only holds items for people), never the
history. A gauge read from PostgreSQL is the same whichever server process answers
the scrape, which in-process counters are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels.ratelimit import FailedAuthentications
from utilipay.metrics.exposed import TrafficCollector
from utilipay.metrics.traffic import Traffic

# queue -> (the owner's view of its open items, the column that dates an item); each view
# is one table's partial index of open work (migration 0024), so a scrape never reads history
QUEUES: dict[str, tuple[str, str]] = {
    "outbox": ("outbox_pending", "occurred_at"),
    "webhooks": ("webhooks_pending", "created_at"),
    "notifications": ("notify_pending", "created_at"),
    "debits": ("autopay_open_debits", "created_at"),
    "meter_commands": ("headend_pending_commands", "decided_at"),
    # a payer who topped up and still has no supply: past the give-up time, still tried
    "meter_reconnects_overdue": (
        "headend_pending_commands WHERE overdue_at IS NOT NULL",
        "decided_at",
    ),
    # one queue for people: reversals not completed and the breaks recon left for a person
    "exceptions": ("payments_open_exceptions", "opened_at"),
    "payouts": ("settlement_open_payouts", "created_at"),
    "recon_corrections": ("recon_open_corrections", "run_finished_at"),
}


def _queue_sql(name: str, source: str, dated: str) -> str:
    oldest = f"coalesce(extract(epoch FROM :now - min({dated})), 0)"
    return f"SELECT '{name}' AS queue, count(*) AS items, {oldest} AS oldest FROM {source}"  # noqa: S608 - the constants above, never input


_QUEUES_SQL = "\nUNION ALL\n".join(_queue_sql(name, *how) for name, how in QUEUES.items())
_UNRESOLVED_SQL = """
SELECT b.code AS biller, count(*) AS items,
       coalesce(extract(epoch FROM :now - min(p.created_at)), 0) AS oldest
  FROM payments_orders p JOIN billers_directory b ON b.id = p.biller_id
 WHERE p.status = 'PROCESSING'
 GROUP BY b.code ORDER BY b.code
"""


@dataclass(frozen=True, slots=True)
class Backlog:
    items: int
    oldest_seconds: float


@dataclass(frozen=True, slots=True)
class Backlogs:
    queues: dict[str, Backlog]
    unresolved_payments: dict[str, Backlog]  # per biller code: PROCESSING payments


async def backlogs(conn: AsyncConnection, now: datetime) -> Backlogs:
    """Every backlog as of ``now`` (two queries)."""
    queues = {
        r.queue: Backlog(int(r.items), max(0.0, float(r.oldest)))
        for r in await conn.execute(text(_QUEUES_SQL), {"now": now})
    }
    unresolved = {
        r.biller: Backlog(int(r.items), max(0.0, float(r.oldest)))
        for r in await conn.execute(text(_UNRESOLVED_SQL), {"now": now})
    }
    return Backlogs(queues, unresolved)


class _Snapshot(Collector):
    """Hands prometheus-client a snapshot taken before rendering (its collectors are
    synchronous; the database is read asynchronously first)."""

    def __init__(self, snapshot: Backlogs) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        items = GaugeMetricFamily(
            "utilipay_backlog_items", "Items waiting in each queue of work", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "utilipay_backlog_oldest_seconds",
            "How long the oldest item of each queue has waited",
            labels=["queue"],
        )
        for name, backlog in sorted(self.snapshot.queues.items()):
            items.add_metric([name], backlog.items)
            oldest.add_metric([name], backlog.oldest_seconds)
        unresolved = GaugeMetricFamily(
            "utilipay_payments_unresolved",
            "Payments whose write-off outcome is not known yet (PROCESSING), per biller",
            labels=["biller"],
        )
        unresolved_oldest = GaugeMetricFamily(
            "utilipay_payments_unresolved_oldest_seconds",
            "Age of the oldest PROCESSING payment, per biller",
            labels=["biller"],
        )
        for code, backlog in self.snapshot.unresolved_payments.items():
            unresolved.add_metric([code], backlog.items)
            unresolved_oldest.add_metric([code], backlog.oldest_seconds)
        yield from (items, oldest, unresolved, unresolved_oldest)


class _AuthFailures(Collector):
    """This server process's failed authentications (they never reach the database)."""

    def __init__(self, failures: FailedAuthentications) -> None:
        self.failures = failures

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        counted = CounterMetricFamily(
            "utilipay_auth_failures",
            "Channel requests refused 401 by this server process: per channel, or per source "
            'address when the request named no channel (the rest as address="other")',
            labels=["channel", "address"],
        )
        for (channel, address), count in sorted(self.failures.counts.items()):
            counted.add_metric([channel, address], count)
        blocked = GaugeMetricFamily(
            "utilipay_auth_blocked_callers",
            "Callers this server process refuses (429) for failing to authenticate too often",
            value=self.failures.blocked_callers(),
        )
        yield from (counted, blocked)


def exposition(snapshot: Backlogs, auth: FailedAuthentications, traffic: Traffic) -> bytes:
    """The Prometheus text format of a snapshot, of this process's failed authentications
    and of the payments' recent traffic with its anomalies."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(snapshot))
    registry.register(_AuthFailures(auth))
    registry.register(TrafficCollector(traffic))
    return generate_latest(registry)

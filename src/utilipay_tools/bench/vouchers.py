"""``utilipay bench vouchers``: issuing a million vouchers, and redeeming a hundred thousand
of them concurrently, each PIN twice at once (two orders racing for one voucher).

A database of its own (``utilipay_bench_vouchers``, rebuilt each run) gets a hosted water
utility, a channel and R postpaid accounts with nothing due, so every redemption leaves a
credit (the longest path in ``voucher_redeem_many`` but the bills'). Timed: the issue
(``vouchers.issue.issue_batch``: PINs drawn and hashed, COPY, the PIN index, committed; the
issue file is a CSV in the temp directory, deleted after) and the redemptions, through the
service the HTTP route calls (``vouchers.redeem.Redemptions``: 32 redemptions in flight,
sent as batches, 2 batches at once as the server's two processes would), not over HTTP:
the figure is the database's, the channel API's own cost is in the payments benchmark. A
double redemption is a PIN that got two successful answers; the run also counts the
redemption rows.
"""

from __future__ import annotations

import asyncio
import csv
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.errors import DomainError
from utilipay.ids import new_id
from utilipay.runtime.install import upgrade
from utilipay.vouchers import redeem, service
from utilipay.vouchers.issue import IssueOrder, issue_batch
from utilipay.vouchers.service import Selection
from utilipay_tools.bench.payments import machine

DATABASE = "utilipay_bench_vouchers"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
IN_FLIGHT = 32
BATCHES_IN_FLIGHT = 2
_ACCOUNTS = """
INSERT INTO customer_accounts (biller_id, account_no, holder_name, address, created_at,
                               language, customer_class)
SELECT :b, lpad(i::text, 10, '0'), '测试', '', :now, 'zh-CN', 'residential'
  FROM generate_series(1, :n) i
"""


@dataclass(frozen=True)
class VouchersBench:
    issued: int
    issue_seconds: float
    redeemed: int
    attempts: int
    redeem_seconds: float
    double_redemptions: int
    redemption_rows: int
    machine: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "issued": self.issued,
            "issue_seconds": round(self.issue_seconds, 1),
            "issued_per_second": round(self.issued / self.issue_seconds),
            "redeemed": self.redeemed,
            "attempts": self.attempts,
            "redeem_seconds": round(self.redeem_seconds, 1),
            "redemptions_per_second": round(self.redeemed / self.redeem_seconds),
            "double_redemptions": self.double_redemptions,
            "redemption_rows": self.redemption_rows,
            "machine": self.machine,
        }


async def _setup(engine: AsyncEngine, clock: FrozenClock, accounts: int) -> tuple[Biller, Channel]:
    async with engine.begin() as conn:
        biller = await billers_service.add_biller(
            conn, clock, code="BENCHWATER", name="bench", category=Category.WATER,
            mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
        )  # fmt: skip
        channel = await channels_service.add_channel(
            conn, clock, code="BENCHWALLET", secret=secrets.token_urlsafe(24), actor="bench"
        )
        await conn.execute(text(_ACCOUNTS), {"b": biller.id, "n": accounts, "now": NOW})
    return biller, channel


async def _issue(engine: AsyncEngine, clock: FrozenClock, count: int, keep: int) -> list[str]:
    """Issue ``count`` vouchers to a CSV file, as the command does; the first ``keep`` PINs."""
    pins: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "v.csv").open("w") as out:
        writer = csv.writer(out)

        def sink(lines: Any) -> None:
            writer.writerows(lines)
            pins.extend(pin for _, pin in lines[: max(0, keep - len(pins))])

        async with engine.begin() as conn:
            order = IssueOrder("BENCHWATER", count, 5000, date(2027, 12, 31))
            done = await issue_batch(conn, clock, order, sink=sink, actor="bench")
            await service.activate(conn, clock, Selection(batch=done.id), outlet=None,
                                   actor="bench")  # fmt: skip
    return pins


async def _redeem_all(
    engine: AsyncEngine, clock: FrozenClock, biller: Biller, channel: Channel, pins: list[str]
) -> Counter[str]:
    """Each PIN twice at once, by two orders; how many successes each PIN got."""
    redemptions = redeem.Redemptions(engine, clock, max_in_flight=BATCHES_IN_FLIGHT)
    wins: Counter[str] = Counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int, pin: str, twin: int) -> None:
        command = redeem.RedeemCommand(channel, f"B{n}-{twin}", pin, biller,
                                       f"{n + 1:010d}", f"payer-{n}-{twin}")  # fmt: skip
        async with gate:
            try:
                await redemptions.redeem(command, new_id("P"))
            except DomainError:
                return
        wins[pin] += 1

    await asyncio.gather(*(one(n, pin, t) for n, pin in enumerate(pins) for t in (0, 1)))
    return wins


async def _run(settings: Settings, count: int, redeem_count: int, say: Any) -> VouchersBench:
    url = database_url(settings, database=DATABASE)
    await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=16)
    clock = FrozenClock(NOW)
    biller, channel = await _setup(engine, clock, redeem_count)
    say(f"issuing {count:,} vouchers …")
    started = time.perf_counter()
    pins = await _issue(engine, clock, count, redeem_count)
    issued = time.perf_counter() - started
    say(f"redeeming {len(pins):,} of them, each PIN twice at once …")
    started = time.perf_counter()
    wins = await _redeem_all(engine, clock, biller, channel, pins)
    redeemed = time.perf_counter() - started
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM voucher_redemptions"))).scalar_one()
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    await engine.dispose()
    await drop_database(url)
    return VouchersBench(
        count, issued, sum(wins.values()), 2 * len(pins), redeemed,
        sum(1 for n in wins.values() if n > 1), rows, {**machine(), "postgresql": str(version)},
    )  # fmt: skip


def run(settings: Settings, count: int, redeem_count: int, say: Any = print) -> VouchersBench:
    return asyncio.run(_run(settings, count, redeem_count, say))

"""``utilipay bench prepaid``: the daily accrual (日结) of a million prepaid accounts.

A database of its own (``utilipay_bench_prepaid``, rebuilt each run) gets N
electricity accounts on the Beijing residential tariff (monthly bands), each
prepaid with a balance between 0 and 200 yuan and halfway through a month's band,
and one day of usage (0-20 kWh). The timed work is the accrual itself
(``prepaid.accrual.accrue_day``, committed): every account priced through its
tariff's blocks, the day's journal entry with a posting per account, N accrual
rows, N accounts moved, and the fee and outage warnings of those that cross the
line. Two days are settled, so the second one runs on tables that already hold a
day. The baseline, on the same server in the same run, does the bare writes of a
day (a posting and an accrual row per account, every account updated) with no
tariff, no state rule and no events, and is rolled back; the ratio says what the
logic costs. The seeded balances are not booked in the ledger (the bench does
not run ``utilipay check``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.prepaid.accrual import DayAccrued, accrue_day
from utilipay.runtime.install import upgrade
from utilipay.tariffs import service as tariffs
from utilipay_tools.bench.payments import machine

DATABASE = "utilipay_bench_prepaid"
DAYS = (date(2026, 11, 21), date(2026, 11, 22))
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

_SEED = (
    """
    INSERT INTO customer_accounts (biller_id, account_no, holder_name, created_at)
    SELECT :b, lpad(i::text, 10, '0'), '测试', :now FROM generate_series(1, :n) i
    """,
    """
    INSERT INTO ledger_accounts (code, kind, biller_id, currency, created_at)
    SELECT ledger_account_code('PREPAID_BALANCE', 'BENCHPOWER:' || lpad(i::text, 10, '0'), 'CNY'),
           'PREPAID_BALANCE', :b, 'CNY', :now
      FROM generate_series(1, :n) i
    """,
    """
    INSERT INTO prepaid_accounts (biller_id, account_no, ledger_account_id, balance, currency,
                                  state, state_since, episode, notified, cuts, accrue_from,
                                  accrued_through, band_start, band_usage, month_start,
                                  month_exact, enrolled_at)
    SELECT :b, split_part(la.code, ':', 3), la.id, (la.id::bigint * 7919) % 20000, 'CNY',
           prepaid_next_state('NORMAL', (la.id::bigint * 7919) % 20000, 2000), :now, 1, '{}', 0,
           date '2026-11-01', date '2026-11-20', date '2026-11-01', 200, date '2026-11-01',
           200 * 48.83, :now
      FROM ledger_accounts la WHERE la.kind = 'PREPAID_BALANCE'
    """,
    """
    INSERT INTO daily_usage (biller_id, account_no, day, register, quantity, estimated)
    SELECT :b, lpad(i::text, 10, '0'), d, 'total', (i * 31 + extract(day FROM d)) % 2001 / 100.0,
           false
      FROM generate_series(1, :n) i, unnest(CAST(:days AS date[])) d
    """,
)
_BASELINE = (
    """
    CREATE TEMP TABLE bare ON COMMIT DROP AS
    SELECT pa.biller_id, pa.account_no, pa.ledger_account_id, u.quantity,
           row_number() OVER () AS line
      FROM prepaid_accounts pa JOIN daily_usage u
        ON u.biller_id = pa.biller_id AND u.account_no = pa.account_no AND u.day = :day
    """,
    """
    INSERT INTO journal_entries (biller_id, kind, memo, created_at)
    VALUES (:b, 'PREPAID_ACCRUAL', 'baseline', :now)
    """,
    """
    INSERT INTO postings (biller_id, entry_id, line_no, account_id, amount)
    SELECT biller_id, currval('journal_entries_id_seq'), line + 1, ledger_account_id, 1 FROM bare
    UNION ALL
    SELECT :b, currval('journal_entries_id_seq'), 1, la.id, -(SELECT count(*) FROM bare)
      FROM ledger_accounts la WHERE la.kind = 'BILLER_PAYABLE' AND la.biller_id = :b
    """,
    """
    INSERT INTO prepaid_accruals (biller_id, account_no, day, tariff_version, usage, peak, flat,
                                  valley, band_usage, exact_charge, posted, balance_after)
    SELECT biller_id, account_no, :day, 1, quantity, 0, 0, 0, quantity, 1, 1, 0 FROM bare
    """,
    """
    UPDATE prepaid_accounts pa SET balance = balance - 1, accrued_through = :day
      FROM bare WHERE pa.biller_id = bare.biller_id AND pa.account_no = bare.account_no
    """,
)


@dataclass(frozen=True)
class PrepaidBench:
    accounts: int
    seed_seconds: float
    days: list[tuple[DayAccrued, float]]
    baseline_seconds: float
    machine: dict[str, str]

    @property
    def ratio(self) -> float:
        return self.days[0][1] / self.baseline_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "seed_seconds": round(self.seed_seconds, 1),
            "days": [
                {
                    "day": d.day.isoformat(),
                    "seconds": round(s, 2),
                    "accounts": d.accounts,
                    "posted_fen": d.posted,
                    "warnings": d.notices,
                }
                for d, s in self.days
            ],
            "baseline_seconds": round(self.baseline_seconds, 2),
            "first_day_over_baseline": round(self.ratio, 2),
            "machine": self.machine,
        }


async def _seed(engine: AsyncEngine, count: int) -> int:
    clock = FrozenClock(NOW)
    async with engine.begin() as conn:
        biller = await billers_service.add_biller(
            conn, clock, code="BENCHPOWER", name="bench", category=Category.ELECTRICITY,
            mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", actor="bench",
        )  # fmt: skip
        await tariffs.load_tariffs(conn, clock, None, "bench")
        await tariffs.assign_tariff(
            conn, clock, biller="BENCHPOWER", customer_class="residential",
            tariff_code="BJ_ELEC_RES", effective_from=date(2026, 1, 1), actor="bench",
        )  # fmt: skip
        values = {"b": biller.id, "n": count, "now": NOW, "days": list(DAYS)}
        for statement in _SEED:
            await conn.execute(text(statement), values)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return biller.id


async def _baseline(engine: AsyncEngine, biller_id: int) -> float:
    values = {"b": biller_id, "day": DAYS[0], "now": NOW}
    async with engine.connect() as conn:
        transaction = await conn.begin()
        started = time.perf_counter()
        for statement in _BASELINE:
            await conn.execute(text(statement), values)
        elapsed = time.perf_counter() - started
        await transaction.rollback()
    return elapsed


async def _run(settings: Settings, count: int, say: Any) -> PrepaidBench:
    url = database_url(settings, database=DATABASE)
    await drop_database(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=2)
    say(f"seeding {count:,} prepaid accounts and {len(DAYS)} days of usage …")
    started = time.perf_counter()
    biller_id = await _seed(engine, count)
    seeded = time.perf_counter() - started
    say("baseline: a day's bare writes, rolled back …")
    baseline = await _baseline(engine, biller_id)
    days: list[tuple[DayAccrued, float]] = []
    for day in DAYS:
        say(f"accruing {day} …")
        started = time.perf_counter()
        async with engine.begin() as conn:
            accrued = await accrue_day(conn, day, NOW)
        days.append((accrued, time.perf_counter() - started))
    async with engine.connect() as conn:
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    await engine.dispose()
    await drop_database(url)
    return PrepaidBench(count, seeded, days, baseline, {**machine(), "postgresql": str(version)})


def run(settings: Settings, count: int, say: Any = print) -> PrepaidBench:
    return asyncio.run(_run(settings, count, say))

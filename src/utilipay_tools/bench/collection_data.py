"""A year of a province-size utility, generated for ``utilipay bench collection``.

A power group (``BENCHGRID``) with a branch in each of six regions holds N customer
accounts, one in a hundred prepaid (top-ups, no bills), the rest postpaid with a bill a
month in two meter-reading cycles (issued on the 1st or the 11th, due 14 days later).
What happens to a bill comes from a hash of its account and month, so a size always gives
the same data: 80 % paid by the due date, 14 % paid 1 to 75 days late, 6 % never; and one
account in forty stops paying from a month of the year on (the arrears of every age).
Nothing happens after the data's moment (``as_of``): a payment that would come later is
not there, its bill is still unpaid.

Bills are paid by every kind of channel: wallets (two), a bank's app, POS, an agent's
shops and the utility's counters (``outlet_payments``, from a terminal of an outlet of the
account's region), vouchers (a ``voucher_redemptions`` row, the face the smallest that
covers the bill, the rest left as the account's credit) and, for one account in ten, an
auto-pay mandate of the bank whose debit takes the bill, or is declined, or skipped over
the cap (``debits``). Prepaid accounts top up twice a month by wallet.

Written set-based, a month at a time (``INSERT … SELECT generate_series`` from a temporary
plan of the month), the payments through their own triggers (the rollup the console
reads); the other statements' triggers are only foreign-key checks of keys made from the
rows they refer to, and are off (replica role).
The secondary indexes of the big tables are dropped first and built again at the end,
which is what a bulk load costs least with and what readers never see; the constraints
stay. Not written: the ledger (entries and postings of each payment), the voucher
credit's own rows, meters and head-end commands.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.outlets import service as outlets_service
from utilipay.outlets import terminal_admin
from utilipay.outlets.schemas import OutletKind, TerminalType

DATABASE = "utilipay_bench_collection"
GROUP = "BENCHGRID"
# the branches' regions (division codes): 南昌 九江 赣州 上饶 宜春 吉安
REGIONS = ("360100", "360400", "360700", "361100", "360900", "360800")
PROVINCE = "360000"  # 江西, the group's
SHOPS, COUNTERS = 4, 2  # outlets per region
FACES = (10000, 20000, 50000)  # the voucher batches' faces, per branch
SEASON = (130, 120, 100, 90, 95, 115, 140, 150, 120, 95, 100, 125)  # % of a month's usage
# the statements' own table list: the big tables' secondary indexes go and come back
LOADED = ("bills", "payments", "debits", "outlet_payments", "voucher_redemptions", "vouchers")

Step = Callable[[str], None]  # told the step about to run


@dataclass(frozen=True, slots=True)
class Directory:
    """The rows made through the services: who the generated rows refer to."""

    group_id: int
    branches: list[int]  # by region, as ``REGIONS``
    channels: dict[str, int]  # WECHAT, ALIPAY, ICBC, UNIONPOS, AGENT
    outlets: list[int]  # region by region: SHOPS shops then COUNTERS counters
    terminals: list[str]  # one per outlet, in the same order
    batches: list[int]  # branch by branch, one per face of ``FACES``


@dataclass(frozen=True, slots=True)
class Generated:
    accounts: int
    year: int
    as_of: datetime
    directory: Directory
    rows: dict[str, int]
    seconds: float
    database_bytes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            "rows": self.rows,
            "generate_seconds": round(self.seconds, 1),
            "database_bytes": self.database_bytes,
        }


def as_of(year: int) -> datetime:
    """The data's moment: the day after the second cycle's December due date, 10:00."""
    return datetime(year, 12, 26, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def steps(months: int = 12) -> int:
    """How many steps ``generate`` tells of (for a progress bar's total)."""
    return 5 + months * len(_MONTH) + 2


# -- per account, once ------------------------------------------------------------------

_ACCOUNTS = """
INSERT INTO customer_accounts (biller_id, account_no, holder_name, address, created_at,
                               phone, customer_class)
SELECT (CAST(:branches AS integer[]))[1 + i % :regions], lpad(i::text, 10, '0'), '测试',
       '', :opened, '1' || lpad((3000000000 + i)::text, 10, '0'),
       CASE WHEN i % 25 = 0 THEN 'commercial' ELSE 'residential' END
  FROM generate_series(1, :n) i
"""
# one account in ten pays by auto-pay; one in thirty of them signed during the year, some
# cancelled during it; one in two of them capped at 300 yuan
_MANDATES = """
INSERT INTO mandates (biller_id, id, channel_id, payer, account_no, cap, funding_sources,
                      status, signed_at, cancelled_at, updated_at)
SELECT (CAST(:branches AS integer[]))[1 + i % :regions], 'M' || i, :bank, 'u' || i,
       lpad(i::text, 10, '0'), CASE WHEN i % 20 = 11 THEN 30000 ELSE 100000 END,
       '[{"id": "card-1", "label": "card"}]',
       CASE WHEN cancel_m < 13 THEN 'CANCELLED' ELSE 'ACTIVE' END,
       CASE WHEN sign_m = 0 THEN :opened
            ELSE make_timestamptz(:year, sign_m, 20, 15, 0, 0, 'Asia/Shanghai') END,
       CASE WHEN cancel_m < 13
            THEN make_timestamptz(:year, cancel_m - 1, 28, 15, 0, 0, 'Asia/Shanghai') END,
       :opened
  FROM generate_series(1, :n) i
 CROSS JOIN LATERAL (
       SELECT CASE WHEN i % 30 = 1 THEN 1 + i / 30 % 12 ELSE 0 END AS sign_m,
              CASE WHEN i % 50 = 11 AND i % 30 <> 1 THEN 2 + i / 50 % 11 ELSE 13 END AS cancel_m
       ) months
 WHERE i % 10 = 1
"""
_PREPAID_LEDGER = """
INSERT INTO ledger_accounts (code, kind, biller_id, currency, created_at)
SELECT ledger_account_code('PREPAID_BALANCE', b.code || ':' || lpad(i::text, 10, '0'), 'CNY'),
       'PREPAID_BALANCE', b.id, 'CNY', :opened
  FROM generate_series(100, :n, 100) i
  JOIN billers b ON b.id = (CAST(:branches AS integer[]))[1 + i % :regions]
"""
_PREPAID = """
INSERT INTO prepaid_accounts (biller_id, account_no, ledger_account_id, balance, currency,
                              state, state_since, episode, notified, cuts, accrue_from,
                              accrued_through, enrolled_at)
SELECT la.biller_id, split_part(la.code, ':', 3), la.id, s.balance, 'CNY',
       CASE WHEN la.id % 11 = 0 THEN 'CUT' ELSE prepaid_next_state('NORMAL', s.balance, 2000) END,
       CAST(:as_of AS timestamptz) - interval '3 days', 1, '{}',
       CASE WHEN la.id % 11 = 0 THEN 1 ELSE 0 END,
       make_date(:year, 1, 1), CAST(:as_of_day AS date) - 1, :opened
  FROM ledger_accounts la
 CROSS JOIN LATERAL (SELECT (la.id::bigint * 7919) % 30000 - 3000 AS balance) s
 WHERE la.kind = 'PREPAID_BALANCE'
"""

# -- a month --------------------------------------------------------------------------

# The month's plan: one row per postpaid account's bill with when (if) and how it is paid.
# ``u`` draws the bill's fate, ``h`` its amount, days late and channel, ``t`` its time of
# day and outlet.
_PLAN = """
CREATE TEMP TABLE plan ON COMMIT DROP AS
WITH a AS (
    SELECT i, (CAST(:branches AS integer[]))[1 + i % :regions] AS biller_id,
           i % :regions AS region, lpad(i::text, 10, '0') AS account_no, i % 2 AS cycle,
           abs(hashint8(i * 16 + :m)::bigint) % 1000 AS u,
           abs(hashint8(i * 16 + :m + 7777777777)::bigint) AS h,
           abs(hashint8(i * 16 + :m + 5555555555)::bigint) AS t,
           i % 40 = 3 AND :m >= 1 + i / 40 % 12 AS defaulted
      FROM generate_series(1, :n) i WHERE i % 100 <> 0
), issued AS (
    SELECT a.*,
           make_timestamptz(:year, :m, 1 + 10 * cycle, 9, 0, 0, 'Asia/Shanghai') AS issued_at,
           greatest(500, (2000 + h % 28000) * (CAST(:season AS integer[]))[:m] / 100) AS amount,
           :mm || lpad(i::text, 9, '0') AS serial
      FROM a
), billed AS (
    SELECT i.*, m.id AS mandate_id, m.cap,
           coalesce(m.signed_at < i.issued_at
                    AND (m.cancelled_at IS NULL OR m.cancelled_at > i.issued_at),
                    false) AS autopay
      FROM issued i LEFT JOIN mandates m USING (biller_id, account_no)
), fated AS (
    SELECT b.*, (b.issued_at AT TIME ZONE 'Asia/Shanghai')::date + 14 AS due_date,
           CASE WHEN b.defaulted OR b.u >= 940 THEN NULL
                WHEN b.u < 800 AND b.autopay AND b.amount <= b.cap THEN 'autopay'
                WHEN h / 1000 % 100 < 35 THEN 'wechat'
                WHEN h / 1000 % 100 < 58 THEN 'alipay'
                WHEN h / 1000 % 100 < 66 THEN 'bank'
                WHEN h / 1000 % 100 < 72 THEN 'pos'
                WHEN h / 1000 % 100 < 84 THEN 'shop'
                WHEN h / 1000 % 100 < 92 THEN 'counter'
                WHEN b.amount <= 50000 THEN 'voucher'
                ELSE 'wechat' END AS how,
           CASE WHEN b.u < 800 THEN 1 + b.u % 13 ELSE 14 + 1 + h / 100000 % 75 END AS days
      FROM billed b
), timed AS (
    SELECT f.*,
           CASE WHEN f.how = 'autopay' THEN f.issued_at + interval '3 days 1 hour'
                    + (t % 3600) * interval '1 second'
                WHEN f.how IS NOT NULL
                THEN date_trunc('day', f.issued_at AT TIME ZONE 'Asia/Shanghai')
                         AT TIME ZONE 'Asia/Shanghai'
                     + f.days * interval '1 day'
                     + (7 * 3600 + t % 57600) * interval '1 second' END AS at
      FROM fated f
)
SELECT t.*, CASE WHEN t.at <= CAST(:as_of AS timestamptz) THEN t.at END AS paid_at,
       CASE WHEN t.at <= CAST(:as_of AS timestamptz) THEN t.how END AS paid_by,
       (CAST(:faces AS bigint[]))[CASE WHEN amount <= 10000 THEN 1
                                       WHEN amount <= 20000 THEN 2 ELSE 3 END] AS face
  FROM timed t
"""
_BILLS = """
INSERT INTO bills (biller_id, bill_no, account_no, period, amount, late_fee, due_date, status,
                   payment_id, issued_at, paid_at)
SELECT biller_id, 'B' || serial, account_no, to_char(make_date(:year, :m, 1), 'YYYY-MM'),
       amount, 0, due_date, CASE WHEN paid_at IS NULL THEN 'UNPAID' ELSE 'PAID' END,
       CASE WHEN paid_at IS NOT NULL THEN 'P' || serial END, issued_at, paid_at
  FROM plan
"""
# bills' payments and the prepaid accounts' top-ups (two a month, by wallet), one statement:
# the rollup trigger counts the month once
_PAYMENTS = """
WITH made AS (
    SELECT biller_id, 'P' || serial AS id,
           CASE WHEN paid_by IN ('autopay', 'bank') THEN CAST(:bank AS integer)
                WHEN paid_by = 'alipay' THEN CAST(:alipay AS integer)
                WHEN paid_by = 'pos' THEN CAST(:pos AS integer)
                WHEN paid_by IN ('shop', 'counter') THEN CAST(:agent AS integer)
                ELSE CAST(:wechat AS integer) END AS channel_id,
           CASE WHEN paid_by = 'autopay' THEN 'D' ELSE 'O' END || serial AS order_id,
           'u' || ltrim(account_no, '0') AS payer, account_no,
           CASE WHEN paid_by = 'voucher' THEN face ELSE amount END AS amount,
           ARRAY['B' || serial] AS bill_nos, paid_at,
           CASE WHEN paid_by = 'voucher' THEN 'voucher' ELSE 'bills' END AS purpose
      FROM plan WHERE paid_at IS NOT NULL
    UNION ALL
    SELECT (CAST(:branches AS integer[]))[1 + i % :regions],
           'T' || :mm || k || lpad(i::text, 9, '0'),
           CASE WHEN k = 1 THEN CAST(:wechat AS integer) ELSE CAST(:alipay AS integer) END,
           'O' || 'T' || :mm || k || lpad(i::text, 9, '0'),
           'u' || i, lpad(i::text, 10, '0'), 5000 * (1 + (i / 100 + k) % 4), '{}',
           make_timestamptz(:year, :m, 3 + 14 * (k - 1) + i / 100 % 10, 8 + i % 13, i % 60,
                            0, 'Asia/Shanghai'),
           'prepaid_topup'
      FROM generate_series(100, :n, 100) i, generate_series(1, 2) k
     WHERE make_timestamptz(:year, :m, 3 + 14 * (k - 1) + i / 100 % 10, 8 + i % 13, i % 60,
                            0, 'Asia/Shanghai') <= CAST(:as_of AS timestamptz)
), orders AS (
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    SELECT channel_id, order_id, biller_id, id FROM made
)
INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                      amount, currency, bill_nos, status, receipt_no, created_at, finished_at,
                      purpose)
SELECT biller_id, id, channel_id, order_id, '\\x00', payer, account_no, amount, 'CNY',
       bill_nos, 'SUCCEEDED', 'R' || id, paid_at - interval '2 seconds', paid_at, purpose
  FROM made
"""
_OUTLET_PAYMENTS = """
INSERT INTO outlet_payments (biller_id, payment_id, outlet_id, terminal_id, tender, amount,
                             collected_at, received_at, float_state)
SELECT p.biller_id, 'P' || p.serial, o.outlet, o.terminal,
       CASE WHEN t % 3 = 0 THEN 'card' ELSE 'cash' END, p.amount, p.paid_at, p.paid_at, 'TAKEN'
  FROM plan p
  JOIN unnest(CAST(:outlets AS integer[]), CAST(:terminals AS text[]))
       WITH ORDINALITY AS o(outlet, terminal, n)
    ON o.n = 1 + p.region * :per_region
             + CASE WHEN p.paid_by = 'shop' THEN t / 57600 % :shops
                    ELSE :shops + t / 57600 % :counters END
 WHERE p.paid_by IN ('shop', 'counter')
"""
_VOUCHERS = """
INSERT INTO vouchers (biller_id, batch_id, seq, pin_hash, state, state_at)
SELECT biller_id,
       (CAST(:batches AS integer[]))[region * 3 + array_position(CAST(:faces AS bigint[]), face)],
       (serial::bigint % 1000000000) * 12 + :m, decode(md5('pin-' || serial), 'hex'), 'REDEEMED',
       paid_at
  FROM plan WHERE paid_by = 'voucher'
"""
_REDEMPTIONS = """
INSERT INTO voucher_redemptions (biller_id, batch_id, seq, payment_id, account_no, face, bills,
                                 prepaid, credit, redeemed_at)
SELECT biller_id,
       (CAST(:batches AS integer[]))[region * 3 + array_position(CAST(:faces AS bigint[]), face)],
       (serial::bigint % 1000000000) * 12 + :m, 'P' || serial, account_no, face,
       jsonb_build_array(jsonb_build_object('bill_no', 'B' || serial, 'amount', amount)), 0,
       face - amount, paid_at
  FROM plan WHERE paid_by = 'voucher'
"""
# each auto-pay bill's debit, three days after the bill: taken, declined (the bill is paid
# late some other way, or never), or skipped over the mandate's cap
_DEBITS = """
INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no, purpose,
                    bill_nos, amount, status, reason, issued_at, planned_at, deadline,
                    payment_id, created_at, finished_at)
SELECT biller_id, 'D' || serial, mandate_id, :bank, 'u' || ltrim(account_no, '0'), account_no,
       'autopay', ARRAY['B' || serial], amount,
       CASE WHEN paid_by = 'autopay' THEN 'SUCCEEDED' WHEN amount > cap THEN 'SKIPPED'
            ELSE 'FAILED' END,
       CASE WHEN paid_by = 'autopay' THEN NULL WHEN amount > cap THEN 'OVER_CAP'
            ELSE 'DECLINED' END,
       issued_at, issued_at + interval '3 days', issued_at + interval '6 days',
       CASE WHEN paid_by = 'autopay' THEN 'P' || serial END, issued_at,
       CASE WHEN paid_by = 'autopay' THEN paid_at
            WHEN amount > cap THEN issued_at + interval '3 days'
            ELSE issued_at + interval '3 days 1 hour' END
  FROM plan
 WHERE autopay
   AND (paid_by = 'autopay'
        OR (paid_by IS DISTINCT FROM 'autopay'
            AND issued_at + interval '3 days 1 hour' <= CAST(:as_of AS timestamptz)))
"""
_MONTH = (_PLAN, _BILLS, _PAYMENTS, _OUTLET_PAYMENTS, _VOUCHERS, _REDEMPTIONS, _DEBITS)
_MONTH_NAMES = ("plan", "bills", "payments", "outlet payments", "vouchers", "redemptions",
                "debits")  # fmt: skip

# the secondary indexes (not a constraint's) of the loaded tables, to build again
_SECONDARY = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
  JOIN pg_class c ON c.relname = i.indexname AND c.relkind = 'i'
 WHERE i.schemaname = 'public' AND i.tablename = ANY (:tables)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
 ORDER BY i.tablename, i.indexname
"""
COUNTED = ("customer_accounts", "bills", "payments", "payment_orders", "outlet_payments",
           "vouchers", "voucher_redemptions", "mandates", "debits", "prepaid_accounts",
           "payment_rollups")  # fmt: skip


async def _directory(conn: AsyncConnection, now: datetime) -> Directory:
    clock = FrozenClock(now)
    kinds = {"WECHAT": ChannelKind.WALLET, "ALIPAY": ChannelKind.WALLET,
             "ICBC": ChannelKind.BANK, "UNIONPOS": ChannelKind.POS,
             "AGENT": ChannelKind.AGENT}  # fmt: skip
    channels = {}
    for code, channel_kind in kinds.items():
        debit_url = "http://127.0.0.1:9/debits" if code == "ICBC" else None
        channel = await channels_service.add_channel(
            conn, clock, code=code, secret=f"bench-{code}-secret-0123456789", kind=channel_kind,
            debit_url=debit_url, actor="bench",
        )  # fmt: skip
        channels[code] = channel.id
    group = await billers_service.add_biller(
        conn, clock, code=GROUP, name="bench power group", category=Category.ELECTRICITY,
        mode=IntegrationMode.HOSTED, account_rule=r"\d{10}", region=PROVINCE, actor="bench",
    )  # fmt: skip
    branches, outlets, terminals = [], [], []
    for region in REGIONS:
        branch = await billers_service.add_biller(
            conn, clock, code=f"{GROUP}_{region}", name=f"bench power {region}",
            category=Category.ELECTRICITY, mode=IntegrationMode.HOSTED,
            account_rule=r"\d{10}", region=region, parent_code=GROUP, actor="bench",
        )  # fmt: skip
        branches.append(branch.id)
        for n in range(SHOPS + COUNTERS):
            kind = OutletKind.SHOP if n < SHOPS else OutletKind.COUNTER
            code = f"{region}-{kind.value}-{n + 1}"
            outlet = await outlets_service.add_outlet(
                conn, clock, channel="AGENT", code=code, name=code, kind=kind, region=region,
                low_threshold=0, actor="bench",
            )  # fmt: skip
            terminal, _ = await terminal_admin.add_terminal(
                conn, clock, channel="AGENT", outlet=code, type=TerminalType.POS_FIXED,
                label="counter 1", actor="bench",
            )  # fmt: skip
            outlets.append(outlet.id)
            terminals.append(terminal.id)
    batches = []
    for branch_id in branches:
        for face in FACES:
            batch = await conn.execute(
                text(
                    "INSERT INTO voucher_batches (biller_id, face, count, expires_on,"
                    " issued_at, issued_by) VALUES (:b, :face, 10000000, :expires, :now,"
                    " 'bench') RETURNING id"
                ),
                {"b": branch_id, "face": face, "expires": date(now.year + 2, 12, 31), "now": now},
            )
            batches.append(batch.scalar_one())
    return Directory(group.id, branches, channels, outlets, terminals, batches)


def _values(directory: Directory, accounts: int, year: int) -> dict[str, Any]:
    c = directory.channels
    return {
        "n": accounts, "year": year, "as_of": as_of(year), "as_of_day": as_of(year).date(),
        "opened": datetime(year - 1, 6, 1, 1, 0, tzinfo=UTC),
        "branches": directory.branches, "regions": len(REGIONS), "season": list(SEASON),
        "faces": list(FACES), "batches": directory.batches, "outlets": directory.outlets,
        "terminals": directory.terminals, "per_region": SHOPS + COUNTERS, "shops": SHOPS,
        "counters": COUNTERS, "wechat": c["WECHAT"], "alipay": c["ALIPAY"], "bank": c["ICBC"],
        "pos": c["UNIONPOS"], "agent": c["AGENT"],
    }  # fmt: skip


@asynccontextmanager
async def without_secondary_indexes(
    engine: AsyncEngine, tables: Sequence[str], step: Step = lambda _: None
) -> AsyncIterator[None]:
    """The secondary indexes of ``tables`` dropped for a bulk load, built again after it."""
    async with engine.begin() as conn:
        found = (await conn.execute(text(_SECONDARY), {"tables": list(tables)})).all()
        for name, _ in found:
            await conn.execute(text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:  # even after a failure: the database keeps its indexes
        async with engine.begin() as conn:
            await tune_for_load(conn)
            step(f"{len(found)} indexes built again")
            for _, definition in found:
                await conn.execute(text(definition))


async def tune_for_load(conn: AsyncConnection) -> None:
    """This session only: a bulk load's memory, and commits that need not wait for the
    disk (a crash loses the bench, which is rebuilt anyway)."""
    for setting in ("synchronous_commit = off", "work_mem = '256MB'",
                    "maintenance_work_mem = '1GB'",
                    "max_parallel_maintenance_workers = 2"):  # fmt: skip
        await conn.execute(text(f"SET {setting}"))


async def _triggers(conn: AsyncConnection, *, on: bool) -> None:
    """Off (replica role) for every statement but the payments': their rollup is what the
    console reads; the others' triggers are foreign-key checks of keys the statements make
    from the rows they refer to (and the bills' voucher credit, with no credit to use)."""
    role = "origin" if on else "replica"
    await conn.execute(text(f"SET LOCAL session_replication_role = {role}"))


async def _load(engine: AsyncEngine, values: dict[str, Any], step: Step) -> None:
    async with engine.begin() as conn:
        await tune_for_load(conn)
        await _triggers(conn, on=False)
        for name, statement in (("accounts", _ACCOUNTS), ("mandates", _MANDATES),
                                ("prepaid ledger accounts", _PREPAID_LEDGER),
                                ("prepaid accounts", _PREPAID)):  # fmt: skip
            step(name)
            await conn.execute(text(statement), values)
    for month in range(1, 13):
        async with engine.begin() as conn:  # a month a transaction: the plan is dropped
            await tune_for_load(conn)
            for name, statement in zip(_MONTH_NAMES, _MONTH, strict=True):
                step(f"{values['year']}-{month:02d} {name}")
                await _triggers(conn, on=statement is _PAYMENTS)
                await conn.execute(text(statement), {**values, "m": month, "mm": f"{month:02d}"})


async def generate(
    engine: AsyncEngine, accounts: int, year: int, step: Step = lambda _: None
) -> Generated:
    """Fill the (freshly migrated, empty) database of ``engine`` with a year of ``accounts``."""
    started = time.perf_counter()
    async with engine.begin() as conn:
        step("billers, channels and outlets")
        directory = await _directory(conn, datetime(year - 1, 6, 1, 1, 0, tzinfo=UTC))
    values = _values(directory, accounts, year)
    async with without_secondary_indexes(engine, LOADED, step):
        await _load(engine, values, step)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        step("VACUUM ANALYZE")
        await conn.execute(text("VACUUM ANALYZE"))
        rows = {t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one())  # noqa: S608 (COUNTED)
                for t in COUNTED}  # fmt: skip
        size = await conn.scalar(text("SELECT pg_database_size(current_database())"))
    return Generated(accounts, year, as_of(year), directory, rows,
                     time.perf_counter() - started, int(size))  # fmt: skip

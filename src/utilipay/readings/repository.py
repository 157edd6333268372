"""SQL of the readings package: set-based, so an import costs a few statements whatever
its size (keys travel as arrays and are unnested; new rows go in by COPY)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    Text,
    bindparam,
    exists,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.readings.intervals import StoredInterval
from utilipay.readings.reads import StoredRead
from utilipay.readings.schemas import Meter, Notice, Service
from utilipay.readings.tables import (
    daily_usage,
    meters,
    reading_imports,
)

Series = tuple[int, str, str]  # biller_id, meter_id, register
COPY_CHUNK = 20_000
Progress = Callable[[str, int, int], None]  # what is being written, rows done, rows in all


def _meter(row: Any) -> Meter:
    return Meter(
        biller_id=row.biller_id,
        meter_id=row.meter_id,
        account_no=row.account_no,
        service=Service(row.service),
        unit=row.unit,
        registers=tuple(row.registers),
        digits=row.digits,
        multiplier=row.multiplier,
        installed_at=row.installed_at,
        removed_at=row.removed_at,
    )


async def lock_billers(conn: AsyncConnection, biller_ids: Iterable[int]) -> None:
    """One import at a time per biller (in a fixed order): spans are re-derived from the
    reads around the new ones, which a concurrent import could be changing."""
    for biller_id in sorted(set(biller_ids)):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('utilipay.readings'), :b)"),
            {"b": biller_id},
        )


async def meters_by_key(
    conn: AsyncConnection, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], Meter]:
    billers, ids = _columns(sorted(set(keys)), 2)
    rows = await conn.execute(
        select(meters).where(
            text(
                "(meters.biller_id, meters.meter_id) IN (SELECT * FROM "
                "unnest(CAST(:billers AS int[]), CAST(:ids AS text[])))"
            ).bindparams(billers=billers, ids=ids)
        )
    )
    return {(r.biller_id, r.meter_id): _meter(r) for r in rows}


async def meters_named(conn: AsyncConnection, meter_id: str) -> list[Meter]:
    rows = await conn.execute(select(meters).where(meters.c.meter_id == meter_id))
    return [_meter(r) for r in rows]


_METER_KEYS = (
    text("SELECT * FROM unnest(CAST(:billers AS int[]), CAST(:ids AS text[])) AS k(b, m)")
    .columns(b=Integer, m=Text)
    .subquery("k")
)


async def installed_meters(
    conn: AsyncConnection, biller_id: int, account_no: str, at: datetime
) -> list[str]:
    """The meters of an account in service at ``at``, by id (the order a head-end's
    sequences are locked in, so two commands never deadlock)."""
    query = (
        select(meters.c.meter_id)
        .where(
            meters.c.biller_id == biller_id,
            meters.c.account_no == account_no,
            meters.c.installed_at <= at,
            meters.c.removed_at.is_(None) | (meters.c.removed_at > at),
        )
        .order_by(meters.c.meter_id)
    )
    return list((await conn.execute(query)).scalars())


async def meters_holding(
    conn: AsyncConnection, table: Table, keys: Iterable[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Those of the meters ``keys`` that have rows in ``table`` (reads or intervals)."""
    billers, ids = _columns(sorted(set(keys)), 2)
    k = _METER_KEYS
    rows = await conn.execute(
        select(k.c.b, k.c.m).where(
            exists().where(table.c.biller_id == k.c.b, table.c.meter_id == k.c.m)
        ),
        {"billers": billers, "ids": ids},
    )
    return {(r.b, r.m) for r in rows}


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns, to bind as arrays."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


_READS_AROUND = text("""
SELECT w.b AS biller_id, w.m AS meter_id, w.r AS register, x.read_at, x.value, x.estimated
FROM unnest(CAST(:b AS int[]), CAST(:m AS text[]), CAST(:r AS text[]),
            CAST(:lo AS timestamptz[]), CAST(:hi AS timestamptz[])) AS w(b, m, r, lo, hi)
CROSS JOIN LATERAL (
    (SELECT read_at, value, estimated FROM meter_reads
      WHERE (biller_id, meter_id, register) = (w.b, w.m, w.r) AND read_at < w.lo
      ORDER BY read_at DESC LIMIT 1)
    UNION ALL
    (SELECT read_at, value, estimated FROM meter_reads
      WHERE (biller_id, meter_id, register) = (w.b, w.m, w.r) AND read_at BETWEEN w.lo AND w.hi)
    UNION ALL
    (SELECT read_at, value, estimated FROM meter_reads
      WHERE (biller_id, meter_id, register) = (w.b, w.m, w.r) AND read_at > w.hi
      ORDER BY read_at LIMIT 1)
) AS x
""")


async def reads_around(
    conn: AsyncConnection, windows: Sequence[tuple[int, str, str, datetime, datetime]]
) -> dict[Series, list[StoredRead]]:
    """Per series: the stored read before ``lo``, those from ``lo`` to ``hi``, the one after."""
    b, m, r, lo, hi = _columns(windows, 5)
    found: dict[Series, list[StoredRead]] = defaultdict(list)
    for row in await conn.execute(_READS_AROUND, {"b": b, "m": m, "r": r, "lo": lo, "hi": hi}):
        key = (row.biller_id, row.meter_id, row.register)
        found[key].append(StoredRead(row.read_at, row.value, row.estimated))
    return found


async def intervals_around(
    conn: AsyncConnection, meter: Meter, register: str, lo: datetime, hi: datetime
) -> list[StoredInterval]:
    """The stored interval ending last before ``lo``, those within [lo, hi], the next one."""
    rows = await conn.execute(
        text("""
        SELECT * FROM (
            (SELECT start_at, end_at, quantity, estimated FROM meter_intervals
              WHERE (biller_id, meter_id, register) = (:b, :m, :r) AND end_at <= :lo
              ORDER BY end_at DESC LIMIT 1)
            UNION ALL
            (SELECT start_at, end_at, quantity, estimated FROM meter_intervals
              WHERE (biller_id, meter_id, register) = (:b, :m, :r) AND end_at > :lo
                AND start_at < :hi)
            UNION ALL
            (SELECT start_at, end_at, quantity, estimated FROM meter_intervals
              WHERE (biller_id, meter_id, register) = (:b, :m, :r) AND start_at >= :hi
              ORDER BY end_at LIMIT 1)
        ) AS x ORDER BY end_at
        """),
        {"b": meter.biller_id, "m": meter.meter_id, "r": register, "lo": lo, "hi": hi},
    )
    return [StoredInterval(r.start_at, r.end_at, r.quantity, r.estimated) for r in rows]


async def copy_rows(
    conn: AsyncConnection,
    table: Table,
    records: Sequence[tuple[Any, ...]],
    progress: Progress | None = None,
) -> None:
    """COPY ``records`` (every column of ``table``, in order) into ``table``, inside the
    connection's transaction (already begun: every import has locked its billers)."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    columns = [c.name for c in table.columns]
    for start in range(0, len(records), COPY_CHUNK):
        chunk = records[start : start + COPY_CHUNK]
        await driver.copy_records_to_table(table.name, records=chunk, columns=columns)
        if progress:
            progress(table.name, start + len(chunk), len(records))


async def replace_estimates(
    conn: AsyncConnection,
    table: Table,
    value_column: str,
    rows: Sequence[tuple[int, str, str, datetime, Decimal, int]],
) -> None:
    """Actual values taking the place of stored estimates: ``rows`` are (biller, meter,
    register, the time key, the value, the import). Few: executemany will do."""
    if not rows:
        return
    biller, meter, register, at = table.primary_key.columns
    await conn.execute(
        update(table)
        .where(
            biller == bindparam("k_biller"),
            meter == bindparam("k_meter"),
            register == bindparam("k_register"),
            at == bindparam("k_at"),
        )
        .values(
            {
                value_column: bindparam("k_value"),
                "estimated": False,
                "import_id": bindparam("k_import"),
            }
        ),
        [dict(zip(_REPLACEMENT_KEYS, row, strict=True)) for row in rows],
    )


_REPLACEMENT_KEYS = ("k_biller", "k_meter", "k_register", "k_at", "k_value", "k_import")


async def delete_spans(
    conn: AsyncConnection, ends: Sequence[tuple[int, str, str, datetime]]
) -> set[tuple[int, str, date]]:
    """Delete the day shares of the spans closing at ``ends``; the (biller, meter, day)
    they touched."""
    if not ends:
        return set()
    b, m, r, at = _columns(ends, 4)
    rows = await conn.execute(
        text("""
        DELETE FROM meter_usage u
        USING unnest(CAST(:b AS int[]), CAST(:m AS text[]), CAST(:r AS text[]),
                     CAST(:at AS timestamptz[])) AS k(b, m, r, at)
        WHERE (u.biller_id, u.meter_id, u.register, u.span_end) = (k.b, k.m, k.r, k.at)
        RETURNING u.biller_id, u.meter_id, u.day
        """),
        {"b": b, "m": m, "r": r, "at": at},
    )
    return {(row.biller_id, row.meter_id, row.day) for row in rows}


_RESUM = text("""
WITH t AS (
    SELECT DISTINCT b, a, d
      FROM unnest(CAST(:b AS int[]), CAST(:a AS text[]), CAST(:d AS date[])) AS t(b, a, d)
), measured AS (  -- each register of each meter in service that day: the time it must
                  -- cover (its time in service) and what its usage covers
    SELECT t.b, t.a, t.d, r.register, x.required, u.covered, u.quantity, u.estimated
      FROM t
     CROSS JOIN LATERAL (SELECT t.d::timestamp AT TIME ZONE 'Asia/Shanghai' AS lo,
                                (t.d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS hi) day
      JOIN meters m ON m.biller_id = t.b AND m.account_no = t.a
                   AND m.installed_at < day.hi AND (m.removed_at IS NULL OR m.removed_at > day.lo)
     CROSS JOIN LATERAL unnest(m.registers) AS r(register)
     CROSS JOIN LATERAL (SELECT least(coalesce(m.removed_at, day.hi), day.hi)
                                - greatest(m.installed_at, day.lo) AS required) x
     CROSS JOIN LATERAL (  -- lateral: one index probe per key, whatever the statistics say
         SELECT coalesce(sum(mu.covered), interval '0') AS covered,
                coalesce(sum(mu.quantity), 0) AS quantity,
                coalesce(bool_or(mu.estimated), false) AS estimated
           FROM meter_usage mu
          WHERE mu.biller_id = t.b AND mu.meter_id = m.meter_id AND mu.day = t.d
            AND mu.register = r.register) u
), days AS (  -- an account's day is known when all its registers are
    SELECT t.b, t.a, t.d, coalesce(bool_and(m.covered = m.required), false) AS complete
      FROM t LEFT JOIN measured m ON (m.b, m.a, m.d) = (t.b, t.a, t.d)
     GROUP BY t.b, t.a, t.d
), incomplete AS (
    DELETE FROM daily_usage du USING days
     WHERE (du.biller_id, du.account_no, du.day) = (days.b, days.a, days.d) AND NOT days.complete
)
INSERT INTO daily_usage (biller_id, account_no, day, register, quantity, estimated)
SELECT m.b, m.a, m.d, m.register, sum(m.quantity), bool_or(m.estimated)
  FROM measured m JOIN days ON (days.b, days.a, days.d) = (m.b, m.a, m.d) AND days.complete
 GROUP BY m.b, m.a, m.d, m.register
ON CONFLICT (biller_id, account_no, day, register) DO UPDATE
   SET quantity = excluded.quantity, estimated = excluded.estimated
 WHERE (daily_usage.quantity, daily_usage.estimated)
       IS DISTINCT FROM (excluded.quantity, excluded.estimated)
""")


async def resum_daily_usage(conn: AsyncConnection, touched: Iterable[tuple[int, str, date]]) -> int:
    """Make ``daily_usage`` right for the (biller, account, day) touched: a row per register
    when every register of every meter of the account in service that day covered all of
    its time in service, none otherwise (a partial day is not the day's usage: prepaid
    accrual settles a day once). Returns the rows written."""
    b, a, d = _columns(sorted(set(touched)), 3)
    result = await conn.execute(_RESUM, {"b": b, "a": a, "d": d})
    return result.rowcount


async def account_days_since(
    conn: AsyncConnection, since: Iterable[tuple[int, str, date]]
) -> set[tuple[int, str, date]]:
    """The days from ``since`` on that hold usage of the account (biller, account, first
    day): those a meter installed or removed then may complete or leave incomplete."""
    b, a, d = _columns(sorted(set(since)), 3)
    rows = await conn.execute(
        text("""
        SELECT DISTINCT k.b, k.a, x.day
          FROM unnest(CAST(:b AS int[]), CAST(:a AS text[]), CAST(:d AS date[])) AS k(b, a, d)
         CROSS JOIN LATERAL (
             SELECT day FROM daily_usage
              WHERE biller_id = k.b AND account_no = k.a AND day >= k.d
             UNION
             SELECT u.day FROM meters m
               JOIN meter_usage u ON u.biller_id = m.biller_id AND u.meter_id = m.meter_id
              WHERE m.biller_id = k.b AND m.account_no = k.a AND u.day >= k.d
         ) AS x
        """),
        {"b": b, "a": a, "d": d},
    )
    return {(r.b, r.a, r.day) for r in rows}


async def insert_meters(conn: AsyncConnection, added: list[Meter], import_id: int) -> None:
    if added:
        await conn.execute(
            insert(meters),
            [{**asdict(m), "registers": list(m.registers), "import_id": import_id} for m in added],
        )


async def set_removed(conn: AsyncConnection, removed: list[Meter]) -> None:
    if removed:
        await conn.execute(
            update(meters)
            .where(
                meters.c.biller_id == bindparam("k_biller"),
                meters.c.meter_id == bindparam("k_meter"),
            )
            .values(removed_at=bindparam("k_removed")),
            [
                {"k_biller": m.biller_id, "k_meter": m.meter_id, "k_removed": m.removed_at}
                for m in removed
            ],
        )


async def last_read_after(conn: AsyncConnection, meter: Meter, instant: datetime) -> bool:
    """Whether the meter has a read or an interval later than ``instant``."""
    found = await conn.execute(
        text("""
        SELECT EXISTS (SELECT 1 FROM meter_reads WHERE biller_id = :b AND meter_id = :m
                                                   AND read_at > :t)
            OR EXISTS (SELECT 1 FROM meter_intervals WHERE biller_id = :b AND meter_id = :m
                                                       AND end_at > :t)
        """),
        {"b": meter.biller_id, "m": meter.meter_id, "t": instant},
    )
    return bool(found.scalar_one())


async def daily_rows(
    conn: AsyncConnection, biller_id: int, account_no: str, first: date, last: date
) -> list[tuple[date, str, Decimal, bool]]:
    """An account's ``daily_usage`` rows from ``first`` to ``last`` (both included):
    (day, register, quantity, estimated), by day and register."""
    u = daily_usage.c
    rows = await conn.execute(
        select(u.day, u.register, u.quantity, u.estimated)
        .where(u.biller_id == biller_id, u.account_no == account_no, u.day.between(first, last))
        .order_by(u.day, u.register)
    )
    return [(r.day, r.register, r.quantity, r.estimated) for r in rows]


async def insert_import(
    conn: AsyncConnection,
    *,
    kind: str,
    source: str,
    sha256: str,
    counts: dict[str, int],
    warnings: list[Notice],
    actor: str,
    at: datetime,
) -> int:
    result = await conn.execute(
        insert(reading_imports)
        .values(
            kind=kind,
            source=source,
            sha256=sha256,
            counts=counts,
            warnings=[w.as_json() for w in warnings],
            actor=actor,
            imported_at=at,
        )
        .returning(reading_imports.c.id)
    )
    return int(result.scalar_one())


async def set_counts(conn: AsyncConnection, import_id: int, counts: dict[str, int]) -> None:
    await conn.execute(
        update(reading_imports).where(reading_imports.c.id == import_id).values(counts=counts)
    )

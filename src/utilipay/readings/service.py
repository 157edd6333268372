"""Importing reads and interval data, all or nothing, and deriving usage from them.

Each import checks every row first (against the file and what is stored), then writes:
the import record, the new rows (COPY), the day shares of every span a new row opened
or closed (replacing the shares stored under the same span end), and ``daily_usage`` for
the accounts and days those shares touch. Importing the same data again writes nothing
but the import record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.clock import Clock
from utilipay.common.files import LineError
from utilipay.errors import DomainError, ErrorCode
from utilipay.readings import repository
from utilipay.readings.espi import GreenButtonData
from utilipay.readings.intervals import REGISTER, plan_intervals
from utilipay.readings.plan import Findings, SeriesPlan
from utilipay.readings.reads import plan_series
from utilipay.readings.repository import Progress, Series
from utilipay.readings.schemas import (
    SINGLE,
    ImportReport,
    Meter,
    ReadingRules,
    ReadRow,
)
from utilipay.readings.spread import spread
from utilipay.readings.tables import meter_intervals, meter_reads, meter_usage

STORED_WARNINGS = 1000  # kept with the import record; their counts by kind are all kept


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an import comes from, for its record."""

    source: str
    sha256: str
    actor: str


async def biller_ids(conn: AsyncConnection, codes: Iterable[str]) -> dict[str, int]:
    found = {}
    for code in sorted(set(codes)):
        biller = await billers_repo.by_code(conn, code)
        if biller is not None:
            found[code] = biller.id
    return found


async def _meters_of_reads(
    conn: AsyncConnection, rows: list[ReadRow], found: Findings
) -> tuple[dict[Series, list[ReadRow]], dict[tuple[int, str], Meter]]:
    """The rows grouped by meter register; unknown billers, meters and registers, and
    meters that take interval data, are errors."""
    billers = await biller_ids(conn, (r.biller for r in rows))
    await repository.lock_billers(conn, billers.values())
    keys = {(billers[r.biller], r.meter_id) for r in rows if r.biller in billers}
    meters = await repository.meters_by_key(conn, keys)
    on_intervals = await repository.meters_holding(conn, meter_intervals, meters)
    series: dict[Series, list[ReadRow]] = defaultdict(list)
    for row in rows:
        meter = meters.get((billers.get(row.biller, 0), row.meter_id))
        if row.biller not in billers:
            found.error(row.line, f"unknown biller {row.biller}")
        elif meter is None:
            found.error(row.line, f"biller {row.biller} has no meter {row.meter_id}")
        elif row.register not in meter.registers:
            found.error(row.line, f"meter {row.meter_id} has no register {row.register!r}")
        elif (meter.biller_id, meter.meter_id) in on_intervals:
            found.error(row.line, f"meter {row.meter_id} sends interval data, not reads")
        else:
            series[(meter.biller_id, meter.meter_id, row.register)].append(row)
    return series, meters


async def _plan_reads(
    conn: AsyncConnection, clock: Clock, rows: list[ReadRow], rules: ReadingRules, found: Findings
) -> list[SeriesPlan[ReadRow]]:
    series, meters = await _meters_of_reads(conn, rows, found)
    windows = [
        (*key, min(r.read_at for r in group), max(r.read_at for r in group))
        for key, group in series.items()
    ]
    stored = await repository.reads_around(conn, windows)
    now = clock.now()
    return [
        plan_series(meters[key[:2]], key[2], group, stored.get(key, []), rules, now, found)
        for key, group in series.items()
    ]


def _counts(rows: int, plans: Sequence[SeriesPlan[Any]]) -> dict[str, int]:
    return {
        "rows": rows,
        "added": sum(len(p.inserts) for p in plans),
        "replaced": sum(len(p.replacements) for p in plans),
        "unchanged": sum(p.unchanged for p in plans),
        "spans": sum(len(p.spans) for p in plans),
    }


async def _derive_usage(
    conn: AsyncConnection, plans: Sequence[SeriesPlan[Any]], progress: Progress | None
) -> int:
    """Replace the day shares of every changed span and re-sum ``daily_usage`` where they
    fall; returns the ``daily_usage`` rows written."""
    stale = [(*_key(p), end) for p in plans for end in p.stale_ends]
    touched = await repository.delete_spans(conn, stale)
    shares = [
        (*_key(p), span.end, share.day, share.quantity, span.estimated, share.covered)
        for p in plans
        for span in p.spans
        for share in spread(span.start, span.end, span.quantity)
    ]
    await repository.copy_rows(conn, meter_usage, shares, progress)
    touched.update((b, m, day) for b, m, _, _, day, *_ in shares)
    accounts = {(p.meter.biller_id, p.meter.meter_id): p.meter.account_no for p in plans}
    return await repository.resum_daily_usage(
        conn, {(b, accounts[(b, m)], day) for b, m, day in touched}
    )


async def import_reads(
    conn: AsyncConnection,
    clock: Clock,
    rows: list[ReadRow],
    origin: Provenance,
    *,
    rules: ReadingRules | None = None,
    progress: Progress | None = None,
    errors: Sequence[LineError] = (),
) -> ImportReport:
    """Import cumulative register reads, all or nothing (every bad row named, with the
    ``errors`` already found in the lines that are not among ``rows``)."""
    found = Findings(list(errors))
    plans = await _plan_reads(conn, clock, rows, rules or ReadingRules(), found)
    if found.errors:
        raise found.rejected(origin.source)
    report = await record_import(conn, clock, "reads", origin, _counts(len(rows), plans), found)
    reads = [(*_key(p), r.read_at, r.value, r.estimated, report.import_id)
             for p in plans for r in p.inserts]  # fmt: skip
    await repository.copy_rows(conn, meter_reads, reads, progress)
    better = [(*_key(p), r.read_at, r.value, report.import_id)
              for p in plans for r in p.replacements]  # fmt: skip
    await repository.replace_estimates(conn, meter_reads, "value", better)
    report.counts["days"] = await _derive_usage(conn, plans, progress)
    return await finish_import(conn, report)


def _key(plan: SeriesPlan[Any]) -> tuple[int, str, str]:
    return (plan.meter.biller_id, plan.meter.meter_id, plan.register)


async def record_import(
    conn: AsyncConnection,
    clock: Clock,
    kind: str,
    origin: Provenance,
    counts: dict[str, int],
    found: Findings,
) -> ImportReport:
    """The import's record, written first: every row it adds points to it."""
    warnings = sorted(found.notices, key=lambda n: n.line)
    import_id = await repository.insert_import(
        conn,
        kind=kind,
        source=origin.source,
        sha256=origin.sha256,
        counts=counts,
        warnings=warnings[:STORED_WARNINGS],
        actor=origin.actor,
        at=clock.now(),
    )
    await audit.record(
        conn, clock, actor=origin.actor, action="readings.import", object_type="readings_import",
        object_id=str(import_id), details={"kind": kind, "source": origin.source,
                                           "sha256": origin.sha256},
    )  # fmt: skip
    return ImportReport(import_id, kind, origin.source, counts, warnings)


async def finish_import(conn: AsyncConnection, report: ImportReport) -> ImportReport:
    """Keep the final counts (and how many warnings of each kind) with the record."""
    counts = {**report.counts, **{f"warnings.{c}": n for c, n in report.by_code().items()}}
    await repository.set_counts(conn, report.import_id, counts)
    return report


async def interval_meter(conn: AsyncConnection, meter_id: str, biller: str | None) -> Meter:
    """The meter a Green Button file is for (the file names none of ours)."""
    candidates = await repository.meters_named(conn, meter_id)
    if biller is not None:
        wanted = (await biller_ids(conn, [biller])).get(biller)
        candidates = [m for m in candidates if m.biller_id == wanted]
    if not candidates:
        where = f" at biller {biller}" if biller else ""
        raise DomainError(ErrorCode.NOT_FOUND, f"no meter {meter_id}{where}")
    if len(candidates) > 1:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"several billers have a meter {meter_id}: name the biller"
        )
    return candidates[0]


def _check_fits(meter: Meter, data: GreenButtonData) -> None:
    problem = None
    if data.unit != meter.unit:
        problem = f"the file is in {data.unit}, meter {meter.meter_id} counts {meter.unit}"
    elif data.service is not None and data.service is not meter.service:
        problem = (
            f"the file is {data.service} data, meter {meter.meter_id} measures {meter.service}"
        )
    elif meter.registers != SINGLE:
        problem = f"interval data has one register; meter {meter.meter_id} has {meter.registers}"
    if problem:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, problem)


async def import_intervals(
    conn: AsyncConnection,
    clock: Clock,
    meter: Meter,
    data: GreenButtonData,
    origin: Provenance,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import interval data (consumption per interval) for one meter, all or nothing."""
    _check_fits(meter, data)
    await repository.lock_billers(conn, [meter.biller_id])
    key = (meter.biller_id, meter.meter_id)
    if await repository.meters_holding(conn, meter_reads, [key]):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"meter {meter.meter_id} has register reads, not intervals"
        )
    rows = data.intervals
    stored = await repository.intervals_around(
        conn, meter, REGISTER, min(r.start for r in rows), max(r.end for r in rows)
    )
    found = Findings()
    plan = plan_intervals(meter, rows, stored, clock.now(), found)
    if found.errors:
        raise found.rejected(origin.source)
    report = await record_import(
        conn, clock, "intervals", origin, _counts(len(rows), [plan]), found
    )
    intervals = [(*_key(plan), r.end, r.start, r.quantity, r.estimated, report.import_id)
                 for r in plan.inserts]  # fmt: skip
    await repository.copy_rows(conn, meter_intervals, intervals, progress)
    better = [(*_key(plan), r.end, r.quantity, report.import_id) for r in plan.replacements]
    await repository.replace_estimates(conn, meter_intervals, "quantity", better)
    report.counts["days"] = await _derive_usage(conn, [plan], progress)
    return await finish_import(conn, report)

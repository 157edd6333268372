"""Registering meters from a utility's file, all or nothing.

A meter is on a customer account of a hosted biller; the account is created when the
biller does not have it yet. Registering a meter again as it is changes nothing; giving
it a ``removed_at`` it did not have records its removal (refused while it has reads
after that); any other change is refused: a replaced meter is a new meter id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import service as billers_service
from utilipay.billing import repository as accounts_repo
from utilipay.clock import Clock, business_date, to_shanghai_iso
from utilipay.common.files import LineError
from utilipay.readings import repository
from utilipay.readings.plan import Findings
from utilipay.readings.schemas import UNIT_OF, ImportReport, Meter, MeterRow
from utilipay.readings.service import Provenance, finish_import, record_import


def _as_meter(biller_id: int, row: MeterRow) -> Meter:
    return Meter(
        biller_id=biller_id,
        meter_id=row.meter_id,
        account_no=row.account_no,
        service=row.service,
        unit=UNIT_OF[row.service],
        registers=row.registers,
        digits=row.digits,
        multiplier=row.multiplier,
        installed_at=row.installed_at,
        removed_at=row.removed_at,
    )


def _show(value: object) -> str:
    return to_shanghai_iso(value) if isinstance(value, datetime) else str(value)


def _difference(old: Meter, new: Meter) -> str | None:
    """What differs, other than a removal being recorded; None when nothing does."""
    for field in fields(Meter):
        was, now = getattr(old, field.name), getattr(new, field.name)
        if was != now and not (field.name == "removed_at" and was is None):
            return f"{field.name} is {_show(was) if was is not None else 'empty'}"
    return None


async def _check_against_stored(
    conn: AsyncConnection, wanted: list[tuple[MeterRow, Meter]], found: Findings
) -> tuple[list[Meter], list[Meter]]:
    """The meters to add and the removals to record."""
    stored = await repository.meters_by_key(conn, [(m.biller_id, m.meter_id) for _, m in wanted])
    added, removed = [], []
    for row, meter in wanted:
        old = stored.get((meter.biller_id, meter.meter_id))
        difference = _difference(old, meter) if old is not None else None
        if old is None:
            added.append(meter)
        elif difference is not None:
            found.error(row.line, f"meter {meter.meter_id} is registered differently: {difference}")
        elif old.removed_at is None and meter.removed_at is not None:
            if await repository.last_read_after(conn, meter, meter.removed_at):
                found.error(row.line, f"meter {meter.meter_id} has reads after its removal")
            removed.append(meter)
    return added, removed


async def _ensure_accounts(
    conn: AsyncConnection, clock: Clock, wanted: list[tuple[MeterRow, Meter]], found: Findings
) -> int:
    """Create the accounts the billers do not have yet; returns how many."""
    holders = {(m.biller_id, m.account_no): row for row, m in wanted}
    known = await accounts_repo.accounts_by_no(conn, list(holders))
    for key, row in holders.items():
        if key in known and known[key] != row.holder:
            found.notice(row.line, "holder", f"account {row.account_no} is held by {known[key]}")
    now = clock.now()
    await accounts_repo.insert_accounts(
        conn,
        [
            {"biller_id": b, "account_no": a, "holder_name": row.holder, "address": "",
             "created_at": now}
            for (b, a), row in holders.items()
            if (b, a) not in known
        ],
    )  # fmt: skip
    return len(holders) - len(known)


async def import_meters(
    conn: AsyncConnection,
    clock: Clock,
    rows: list[MeterRow],
    origin: Provenance,
    errors: Sequence[LineError] = (),
) -> ImportReport:
    """Register meters, all or nothing (``errors``: those found in the other lines)."""
    found = Findings(list(errors))
    billers = await billers_service.hosted_billers_of(conn, rows, found.errors, "accounts")
    await repository.lock_billers(conn, (b.id for b in billers.values()))
    wanted = [(r, _as_meter(billers[r.biller].id, r)) for r in rows if r.biller in billers]
    for row, meter in wanted:
        if meter.installed_at > clock.now():
            found.error(row.line, "installed_at is in the future")
    added, removed = await _check_against_stored(conn, wanted, found)
    if found.errors:
        raise found.rejected(origin.source)
    new_accounts = await _ensure_accounts(conn, clock, wanted, found)
    counts = {
        "rows": len(rows),
        "added": len(added),
        "removed": len(removed),
        "unchanged": len(rows) - len(added) - len(removed),
        "accounts_added": new_accounts,
    }
    report = await record_import(conn, clock, "meters", origin, counts, found)
    await repository.insert_meters(conn, added, report.import_id)
    await repository.set_removed(conn, removed)
    # a meter installed or removed changes which days of its account are complete
    since = [(m.biller_id, m.account_no, business_date(m.installed_at)) for m in added]
    since += [(m.biller_id, m.account_no, business_date(m.removed_at))
              for m in removed if m.removed_at is not None]  # fmt: skip
    touched = await repository.account_days_since(conn, since)
    report.counts["days"] = await repository.resum_daily_usage(conn, touched)
    return await finish_import(conn, report)

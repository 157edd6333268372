"""Loading published tariffs, assigning them to billers' customer classes, quoting a charge.

Loading is idempotent: a version already loaded with the same prices changes
nothing; the same code and effective date with other prices is refused (a new
price is a new version), and then nothing of the load is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers import repository as billers_repo
from utilipay.billers.schemas import Category
from utilipay.clock import Clock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.tariffs import store
from utilipay.tariffs.calculator import Charge, Usage, energy_charge
from utilipay.tariffs.files import builtin_tariffs, read_tariffs
from utilipay.tariffs.model import (
    ZERO,
    Tariff,
    TariffVersion,
    Unit,
    describe_blocks,
    describe_rates,
    differences,
)
from utilipay.tariffs.tables import tariff_assignments, tariffs

CUSTOMER_CLASS = re.compile(r"[a-z][a-z0-9_]{1,31}")
# What a biller's meters count, by category; other categories have no metered tariff.
UNIT_OF = {Category.ELECTRICITY: Unit.KWH, Category.WATER: Unit.M3, Category.GAS: Unit.M3}


@dataclass
class LoadReport:
    added: list[tuple[str, date]] = field(default_factory=list)
    unchanged: list[tuple[str, date]] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)


async def load_tariffs(
    conn: AsyncConnection, clock: Clock, source: Path | None, actor: str
) -> LoadReport:
    """Load a tariff file (``None``: the built-in tariffs), all of it or nothing."""
    published = builtin_tariffs() if source is None else read_tariffs(source)
    report = LoadReport()
    async with conn.begin_nested():  # a refusal keeps nothing, whatever the caller does next
        for tariff in published:
            await _load_tariff(conn, clock, tariff, actor, report)
            for version in tariff.versions:
                await _load_version(conn, clock, version, actor, report)
    return report


async def _load_tariff(
    conn: AsyncConnection, clock: Clock, tariff: Tariff, actor: str, report: LoadReport
) -> None:
    await conn.execute(
        pg_insert(tariffs)
        .values(code=tariff.code, name=tariff.name, unit=tariff.unit.value, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["code"])
    )
    stored = (
        await conn.execute(select(tariffs).where(tariffs.c.code == tariff.code).with_for_update())
    ).one()
    if stored.unit != tariff.unit:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"tariff {tariff.code} is in {stored.unit}, the file says {tariff.unit}",
        )
    if stored.name != tariff.name:
        await conn.execute(
            update(tariffs).where(tariffs.c.code == tariff.code).values(name=tariff.name)
        )
        await record(
            conn, clock, actor=actor, action="tariff.renamed", object_type="tariff",
            object_id=tariff.code, details={"from": stored.name, "to": tariff.name},
        )  # fmt: skip
        report.renamed.append(tariff.code)


async def _load_version(
    conn: AsyncConnection, clock: Clock, version: TariffVersion, actor: str, report: LoadReport
) -> None:
    key = (version.code, version.effective_from)
    if await store.insert_version(conn, version, at=clock.now(), actor=actor) is not None:
        await record(
            conn, clock, actor=actor, action="tariff.version_loaded", object_type="tariff",
            object_id=version.code,
            details={
                "effective_from": version.effective_from.isoformat(),
                "band_period": version.band_period.value,
                "blocks": describe_blocks(version.blocks),
                "rates": describe_rates(version.rates),
                "fixed_monthly": version.fixed_monthly,
            },
        )  # fmt: skip
        report.added.append(key)
        return
    stored = await store.version_on(conn, *key)
    if stored is None:  # the insert met it; versions are never deleted
        raise RuntimeError(f"tariff {version.code} version {version.effective_from} vanished")
    if changes := differences(stored, version):
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"tariff {version.code} already has a version effective {version.effective_from} "
            f"with other content ({'; '.join(changes)}); a loaded version never changes: "
            "publish new prices as a version with a later effective_from",
        )
    report.unchanged.append(key)


class AssignmentOutcome(StrEnum):
    """What an assignment did; its value names the audit action (``tariff.assignment_…``)."""

    ADDED = "added"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"  # a future assignment corrected


@dataclass(frozen=True, slots=True)
class Assignment:
    biller: str
    customer_class: str
    effective_from: date
    tariff_code: str
    outcome: AssignmentOutcome


async def assign_tariff(
    conn: AsyncConnection,
    clock: Clock,
    *,
    biller: str,
    customer_class: str,
    tariff_code: str,
    effective_from: date,
    actor: str,
) -> Assignment:
    """From ``effective_from`` the biller's ``customer_class`` pays tariff ``tariff_code``."""
    found = await billers_repo.by_code(conn, biller)
    if found is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"biller {biller} not found")
    if not CUSTOMER_CLASS.fullmatch(customer_class):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"customer class {customer_class!r} must be 2-32 of a-z 0-9 _, starting with a letter",
        )
    await _check_tariff_fits(conn, found.category, tariff_code, effective_from)
    key = (found.id, customer_class, effective_from)
    outcome = await _write_assignment(conn, clock, key, tariff_code, actor)
    if outcome is not AssignmentOutcome.UNCHANGED:
        await record(
            conn, clock, actor=actor, action=f"tariff.assignment_{outcome}",
            object_type="biller", object_id=biller,
            details={"customer_class": customer_class, "tariff": tariff_code,
                     "effective_from": effective_from.isoformat()},
        )  # fmt: skip
    return Assignment(biller, customer_class, effective_from, tariff_code, outcome)


async def _check_tariff_fits(
    conn: AsyncConnection, category: Category, code: str, day: date
) -> None:
    found = await store.all_tariffs(conn, code)
    if not found:
        raise DomainError(ErrorCode.NOT_FOUND, f"tariff {code} not found (load it first)")
    tariff = found[0]
    if UNIT_OF.get(category) != tariff.unit:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"tariff {code} is in {tariff.unit}: it does not fit {category} billers",
        )
    if tariff.versions[0].effective_from > day:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"tariff {code} has no version in force on {day} "
            f"(its first takes effect {tariff.versions[0].effective_from})",
        )


async def _write_assignment(
    conn: AsyncConnection, clock: Clock, key: tuple[int, str, date], code: str, actor: str
) -> AssignmentOutcome:
    biller_id, customer_class, effective_from = key
    where = (
        tariff_assignments.c.biller_id == biller_id,
        tariff_assignments.c.customer_class == customer_class,
        tariff_assignments.c.effective_from == effective_from,
    )
    stored = (
        await conn.execute(select(tariff_assignments.c.tariff_code).where(*where).with_for_update())
    ).scalar_one_or_none()
    row = {"tariff_code": code, "assigned_at": clock.now(), "assigned_by": actor}
    if stored is None:
        await conn.execute(
            pg_insert(tariff_assignments).values(
                biller_id=biller_id,
                customer_class=customer_class,
                effective_from=effective_from,
                **row,
            )
        )
        return AssignmentOutcome.ADDED
    if stored == code:
        return AssignmentOutcome.UNCHANGED
    if effective_from <= business_date(clock.now()):  # charges may already stand on it
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"{customer_class} already pays tariff {stored} from {effective_from}, which has "
            "taken effect: assign the new tariff from a later date",
        )
    await conn.execute(update(tariff_assignments).where(*where).values(**row))
    return AssignmentOutcome.REPLACED


async def quote(
    conn: AsyncConnection, code: str, day: date, usage: Usage, used_before: Decimal = ZERO
) -> tuple[TariffVersion, Charge]:
    """What ``usage`` costs under the version of tariff ``code`` in force on ``day``."""
    version = await store.version_of(conn, code, day)
    if version is None:
        known = await store.all_tariffs(conn, code)
        detail = "not found (load it first)" if not known else f"has no version in force on {day}"
        raise DomainError(ErrorCode.NOT_FOUND, f"tariff {code} {detail}")
    return version, energy_charge(version, usage, used_before)

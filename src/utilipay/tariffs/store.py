"""Tariff versions in the database: written once, read back as ``TariffVersion``."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.tariffs.model import (
    BandPeriod,
    Block,
    Register,
    Tariff,
    TariffVersion,
    Unit,
)
from utilipay.tariffs.tables import tariff_assignments, tariff_blocks, tariff_versions, tariffs

_PRICE_COLUMNS = {
    Register.PEAK: tariff_versions.c.peak_price,
    Register.FLAT: tariff_versions.c.flat_price,
    Register.VALLEY: tariff_versions.c.valley_price,
}


async def insert_version(
    conn: AsyncConnection, version: TariffVersion, *, at: datetime, actor: str
) -> int | None:
    """The new version's id, or None when the tariff already has a version on that date."""
    rates = dict(version.rates)
    statement = (
        pg_insert(tariff_versions)
        .values(
            tariff_code=version.code,
            effective_from=version.effective_from,
            band_period=version.band_period.value,
            fixed_monthly=version.fixed_monthly,
            **{column.name: rates.get(register) for register, column in _PRICE_COLUMNS.items()},
            loaded_at=at,
            loaded_by=actor,
        )
        .on_conflict_do_nothing(index_elements=["tariff_code", "effective_from"])
        .returning(tariff_versions.c.id)
    )
    version_id: int | None = (await conn.execute(statement)).scalar_one_or_none()
    if version_id is not None and version.blocks:
        await conn.execute(
            insert(tariff_blocks),
            [
                {
                    "version_id": version_id,
                    "band": b.band,
                    "lower_bound": b.lower,
                    "upper_bound": b.upper,
                    "price": b.price,
                }
                for b in version.blocks
            ],
        )
    return version_id


async def _versions(conn: AsyncConnection, *where: ColumnElement[bool]) -> list[TariffVersion]:
    rows = (
        await conn.execute(
            select(tariff_versions, tariffs.c.unit)
            .join(tariffs, tariffs.c.code == tariff_versions.c.tariff_code)
            .where(*where)
            .order_by(tariff_versions.c.tariff_code, tariff_versions.c.effective_from)
        )
    ).all()
    ids = [r.id for r in rows]
    blocks: dict[int, list[Block]] = defaultdict(list)
    for b in await conn.execute(
        select(tariff_blocks)
        .where(tariff_blocks.c.version_id.in_(ids))
        .order_by(tariff_blocks.c.version_id, tariff_blocks.c.band)
    ):
        blocks[b.version_id].append(Block(b.band, b.lower_bound, b.upper_bound, b.price))
    return [_version(r._mapping, tuple(blocks[r.id])) for r in rows]


def _version(row: Any, blocks: tuple[Block, ...]) -> TariffVersion:
    rates = tuple(
        (register, row[column.name])
        for register, column in _PRICE_COLUMNS.items()
        if row[column.name] is not None
    )
    return TariffVersion(
        code=row["tariff_code"],
        effective_from=row["effective_from"],
        unit=Unit(row["unit"]),
        band_period=BandPeriod(row["band_period"]),
        blocks=blocks,
        rates=rates,
        fixed_monthly=row["fixed_monthly"],
        id=row["id"],
    )


async def version_by_id(conn: AsyncConnection, version_id: int) -> TariffVersion | None:
    found = await _versions(conn, tariff_versions.c.id == version_id)
    return found[0] if found else None


async def version_on(
    conn: AsyncConnection, code: str, effective_from: date
) -> TariffVersion | None:
    """The version of ``code`` that takes effect exactly on ``effective_from``."""
    found = await _versions(
        conn,
        tariff_versions.c.tariff_code == code,
        tariff_versions.c.effective_from == effective_from,
    )
    return found[0] if found else None


async def version_of(conn: AsyncConnection, code: str, day: date) -> TariffVersion | None:
    """The version of tariff ``code`` in force on ``day``."""
    latest = (
        select(func.max(tariff_versions.c.effective_from))
        .where(tariff_versions.c.tariff_code == code, tariff_versions.c.effective_from <= day)
        .scalar_subquery()
    )
    found = await _versions(
        conn, tariff_versions.c.tariff_code == code, tariff_versions.c.effective_from == latest
    )
    return found[0] if found else None


async def version_in_force(
    conn: AsyncConnection, biller_id: int, customer_class: str, day: date
) -> TariffVersion | None:
    """The version a biller's customer class pays on ``day`` (the SQL ``tariff_version_for``)."""
    version_id = (
        await conn.execute(
            text("SELECT tariff_version_for(:biller, :class, :day)"),
            {"biller": biller_id, "class": customer_class, "day": day},
        )
    ).scalar_one()
    return None if version_id is None else await version_by_id(conn, version_id)


async def all_tariffs(conn: AsyncConnection, code: str | None = None) -> list[Tariff]:
    """Every tariff (or the one with ``code``) with all its versions."""
    where = [] if code is None else [tariffs.c.code == code]
    versions: dict[str, list[TariffVersion]] = defaultdict(list)
    for v in await _versions(conn, *where):
        versions[v.code].append(v)
    rows = await conn.execute(select(tariffs).where(*where).order_by(tariffs.c.code))
    return [Tariff(r.code, r.name, Unit(r.unit), tuple(versions[r.code])) for r in rows]


async def assignments_of(conn: AsyncConnection, code: str) -> list[tuple[str, str, date]]:
    """(biller code, customer class, effective from) of every assignment of tariff ``code``."""
    codes = {b.id: b.code for b in await billers_repo.all_billers(conn)}
    rows = await conn.execute(
        select(tariff_assignments).where(tariff_assignments.c.tariff_code == code)
    )
    return sorted((codes[r.biller_id], r.customer_class, r.effective_from) for r in rows)

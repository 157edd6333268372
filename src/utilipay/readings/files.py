"""Importing a whole file, as the CLI and the API receive it: its format told by its content
when not given, its hash kept with the import record."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.common.files import FileRejected, LineError
from utilipay.errors import DomainError, ErrorCode
from utilipay.readings import csvfile, espi
from utilipay.readings.meters import import_meters
from utilipay.readings.repository import Progress
from utilipay.readings.schemas import ImportReport, ReadingRules
from utilipay.readings.service import (
    Provenance,
    import_intervals,
    import_reads,
    interval_meter,
)


class Format(StrEnum):
    CSV = "csv"
    ESPI = "espi"


def detect(data: bytes, source: str) -> Format:
    if espi.looks_like_espi(data):
        return Format.ESPI
    if csvfile.looks_like_reads_csv(data):
        return Format.CSV
    header = ",".join(csvfile.READ_COLUMNS)
    raise FileRejected(
        source, [LineError(1, f"neither a reads CSV ({header}) nor Green Button XML")]
    )


def provenance(data: bytes, source: str, actor: str) -> Provenance:
    return Provenance(source, hashlib.sha256(data).hexdigest(), actor)


async def import_readings_file(
    conn: AsyncConnection,
    clock: Clock,
    data: bytes,
    *,
    source: str,
    actor: str,
    fmt: Format | None = None,
    meter_id: str | None = None,
    biller: str | None = None,
    rules: ReadingRules | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """A reads CSV, or Green Button interval data for ``meter_id`` (of ``biller`` when
    several billers have a meter of that id): the file names no meter of ours."""
    origin = provenance(data, source, actor)
    if (fmt or detect(data, source)) is Format.CSV:
        rows = csvfile.parse_reads(data, source)
        return await import_reads(conn, clock, rows, origin, rules=rules, progress=progress)
    if meter_id is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "a Green Button file names no meter of ours: give one"
        )
    parsed = espi.parse_green_button(data, source)
    meter = await interval_meter(conn, meter_id, biller)
    return await import_intervals(conn, clock, meter, parsed, origin, progress=progress)


async def import_meters_file(
    conn: AsyncConnection, clock: Clock, data: bytes, *, source: str, actor: str
) -> ImportReport:
    rows = csvfile.parse_meters(data, source)
    return await import_meters(conn, clock, rows, provenance(data, source, actor))

"""Importing a whole file, as the CLI and the API receive it: a meters CSV, a reads CSV or
Green Button XML, told apart by their content; the file's hash kept with the import."""

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
    METERS = "meters"
    READS = "reads"
    GREEN_BUTTON = "green-button"


def detect(data: bytes, source: str) -> Format:
    if espi.looks_like_espi(data):
        return Format.GREEN_BUTTON
    kind = csvfile.kind_of(data)
    if kind is csvfile.Kind.READS:
        return Format.READS
    if kind is csvfile.Kind.METERS:
        return Format.METERS
    raise FileRejected(
        source,
        [
            LineError(
                1,
                f"not a reads CSV ({','.join(csvfile.READ_COLUMNS)}), a meters CSV "
                f"({','.join(csvfile.METER_COLUMNS)}[,removed_at]) or Green Button XML",
            )
        ],
    )


def provenance(data: bytes, source: str, actor: str) -> Provenance:
    return Provenance(source, hashlib.sha256(data).hexdigest(), actor)


async def import_file(
    conn: AsyncConnection,
    clock: Clock,
    data: bytes,
    *,
    source: str,
    actor: str,
    meter_id: str | None = None,
    biller: str | None = None,
    rules: ReadingRules | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a meters CSV, a reads CSV, or Green Button interval data for ``meter_id``
    (the file names no meter of ours); with ``biller``, only that biller's."""
    origin = provenance(data, source, actor)
    fmt = detect(data, source)
    if fmt is not Format.GREEN_BUTTON and meter_id is not None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{source} names its meters: a meter is given only with Green Button data",
        )
    if fmt is Format.METERS:
        meters = csvfile.parse_meters(data, source, biller=biller)
        return await import_meters(conn, clock, meters.rows, origin, meters.errors)
    if fmt is Format.READS:
        reads = csvfile.parse_reads(data, source, biller=biller)
        return await import_reads(
            conn, clock, reads.rows, origin, rules=rules, progress=progress, errors=reads.errors
        )
    if meter_id is None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{source} is Green Button data, which names no meter of ours: say which meter",
        )
    parsed = espi.parse_green_button(data, source)
    meter = await interval_meter(conn, meter_id, biller)
    return await import_intervals(conn, clock, meter, parsed, origin, progress=progress)

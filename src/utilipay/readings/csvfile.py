"""The meters CSV and the reads CSV: every bad line reported by number, nothing kept unless
every line is good (the service checks the good lines against the database as well).

- meters: ``biller,account,holder,meter,service,unit,registers,digits,multiplier,installed_at``
  and optionally ``removed_at``; ``registers`` is ``total`` or ``peak|flat|valley``.
- reads: ``biller,meter,register,read_at,value,quality``; ``read_at`` RFC 3339 with its
  offset, ``value`` the register as shown (at most 3 decimals), ``quality`` ``actual``
  (or empty) or ``estimated``.

Given ``biller``, a line of another biller is an error: an operator importing one
utility's file must not touch another's meters by a typo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from utilipay.billing.csvfile import decode
from utilipay.common.files import FileRejected, LineError, csv_records
from utilipay.readings import fields
from utilipay.readings.schemas import SINGLE, TIME_OF_USE, UNIT_OF, MeterRow, ReadRow, Service

METER_COLUMNS = (
    "biller", "account", "holder", "meter", "service", "unit", "registers", "digits",
    "multiplier", "installed_at",
)  # fmt: skip
METER_OPTIONAL = ("removed_at",)
READ_COLUMNS = ("biller", "meter", "register", "read_at", "value", "quality")
MAX_MULTIPLIER = Decimal(100_000)
_UNITS = {"kwh": "kWh", "m3": "m3", "m³": "m3"}
_REGISTER_SEPARATORS = re.compile(r"[|;,\s]+")
Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Parsed(Generic[Row]):
    """The good lines, and what is wrong with the others: the import checks the good
    ones against the database too, so one attempt names every bad line."""

    rows: list[Row]
    errors: list[LineError]


class Kind(StrEnum):
    METERS = "meters"
    READS = "reads"


def kind_of(data: bytes) -> Kind | None:
    """Which CSV this is, by its header; None when it is neither."""
    first = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    names = tuple(c.strip() for c in first.strip().split(","))
    if names == READ_COLUMNS:
        return Kind.READS
    if names in {METER_COLUMNS, METER_COLUMNS + METER_OPTIONAL}:
        return Kind.METERS
    return None


def _parse(
    data: bytes,
    source: str,
    columns: tuple[str, ...],
    optional: tuple[str, ...],
    make: Callable[[int, dict[str, str]], Row],
    biller: str | None,
) -> Parsed[Row]:
    parsed: Parsed[Row] = Parsed([], [])
    records = csv_records(decode(data, source), parsed.errors)
    header = next(records, None)
    names = tuple(h.strip() for h in header[1]) if header else ()
    if names not in {columns, columns + optional}:
        allowed = ",".join(columns) + "".join(f"[,{o}]" for o in optional)
        raise FileRejected(source, [LineError(1, f"header must be {allowed}")])
    for line, values in records:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            parsed.errors.append(LineError(line, f"{len(values)} fields, expected {len(names)}"))
            continue
        named = dict(zip(names, (v.strip() for v in values), strict=True))
        try:
            if biller is not None and named["biller"] != biller:
                raise ValueError(f"biller {named['biller']}, but this import is for {biller}")
            parsed.rows.append(make(line, named))
        except ValueError as exc:
            parsed.errors.append(LineError(line, str(exc)))
    if not parsed.rows:
        raise FileRejected(source, parsed.errors or [LineError(1, "no rows in the file")])
    return parsed


def registers(value: str, service: Service) -> tuple[str, ...]:
    names = {n for n in _REGISTER_SEPARATORS.split(value.lower()) if n}
    if names == set(SINGLE):
        return SINGLE
    if names == set(TIME_OF_USE):
        if service is not Service.ELECTRICITY:
            raise ValueError("time-of-use registers (peak|flat|valley) are for electricity")
        return TIME_OF_USE
    raise ValueError(f"registers {value!r} must be total or peak|flat|valley")


def _digits(value: str) -> int:
    if not value.isascii() or not value.isdigit() or not 4 <= int(value) <= 12:
        raise ValueError(f"digits {value!r} must be a whole number from 4 to 12")
    return int(value)


def _multiplier(value: str) -> Decimal:
    multiplier = fields.decimal("multiplier", value or "1")
    if not 0 < multiplier <= MAX_MULTIPLIER:
        raise ValueError(f"multiplier {value} must be more than 0 and at most {MAX_MULTIPLIER}")
    return multiplier


def _meter(line: int, f: dict[str, str]) -> MeterRow:
    try:
        service = Service(f["service"].lower())
    except ValueError:
        raise ValueError(f"service {f['service']!r} must be electricity, water or gas") from None
    unit = _UNITS.get(f["unit"].lower())
    if unit != UNIT_OF[service]:
        raise ValueError(f"unit {f['unit']!r} must be {UNIT_OF[service]} for {service}")
    installed_at = fields.instant("installed_at", f["installed_at"])
    removed = f.get("removed_at", "")
    removed_at = fields.instant("removed_at", removed) if removed else None
    if removed_at is not None and removed_at <= installed_at:
        raise ValueError("removed_at must be after installed_at")
    return MeterRow(
        line=line,
        biller=fields.text("biller", f["biller"]),
        account_no=fields.text("account", f["account"]),
        holder=fields.text("holder", f["holder"]),
        meter_id=fields.meter_id(f["meter"]),
        service=service,
        registers=registers(f["registers"], service),
        digits=_digits(f["digits"]),
        multiplier=_multiplier(f["multiplier"]),
        installed_at=installed_at,
        removed_at=removed_at,
    )


def read_row(line: int, f: dict[str, str]) -> ReadRow:
    """One read from named fields (a CSV line, or a JSON item's strings)."""
    return ReadRow(
        line=line,
        biller=fields.text("biller", f["biller"]),
        meter_id=fields.meter_id(f["meter"]),
        register=fields.text("register", f["register"]),
        read_at=fields.instant("read_at", f["read_at"]),
        value=fields.decimal("value", f["value"]),
        estimated=fields.quality(f["quality"]),
    )


def parse_meters(
    data: bytes, source: str = "meters file", *, biller: str | None = None
) -> Parsed[MeterRow]:
    parsed = _parse(data, source, METER_COLUMNS, METER_OPTIONAL, _meter, biller)
    seen: dict[tuple[str, str], int] = {}
    for row in parsed.rows:
        key = (row.biller, row.meter_id)
        if key in seen:
            parsed.errors.append(
                LineError(row.line, f"meter {row.meter_id} repeats line {seen[key]}")
            )
        seen.setdefault(key, row.line)
    return parsed


def parse_reads(
    data: bytes, source: str = "reads file", *, biller: str | None = None
) -> Parsed[ReadRow]:
    return _parse(data, source, READ_COLUMNS, (), read_row, biller)

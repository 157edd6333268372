"""The meters CSV and the reads CSV: every bad line reported by number, nothing kept unless
every line is good (the service then checks the lines against the database).

- meters: ``biller,account,holder,meter,service,unit,registers,digits,multiplier,installed_at``
  and optionally ``removed_at``; ``registers`` is ``total`` or ``peak|flat|valley``.
- reads: ``biller,meter,register,read_at,value,quality``; ``read_at`` RFC 3339 with its
  offset, ``value`` the register as shown (at most 3 decimals), ``quality`` ``actual``
  (or empty) or ``estimated``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

# billing's CSV reading (UTF-8, strict quoting, line numbers) serves every import file
from utilipay.billing.csvfile import _records, decode
from utilipay.common.files import FileRejected, LineError
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


def _parse(
    data: bytes,
    source: str,
    columns: tuple[str, ...],
    optional: tuple[str, ...],
    make: Callable[[int, dict[str, str]], Row],
) -> list[Row]:
    rows: list[Row] = []
    errors: list[LineError] = []
    records = _records(decode(data, source))
    try:
        header = next(records, None)
        names = tuple(h.strip() for h in header[1]) if header else ()
        if names not in {columns, columns + optional}:
            allowed = ",".join(columns) + "".join(f"[,{o}]" for o in optional)
            raise FileRejected(source, [LineError(1, f"header must be {allowed}")])
        for line, values in records:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(names):
                errors.append(LineError(line, f"{len(values)} fields, expected {len(names)}"))
                continue
            try:
                rows.append(make(line, dict(zip(names, (v.strip() for v in values), strict=True))))
            except ValueError as exc:
                errors.append(LineError(line, str(exc)))
    except FileRejected as exc:  # broken quoting ends the file; earlier errors still count
        raise FileRejected(source, [*errors, *exc.errors]) from None
    if errors:
        raise FileRejected(source, errors)
    if not rows:
        raise FileRejected(source, [LineError(1, "no rows in the file")])
    return rows


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


def parse_meters(data: bytes, source: str = "meters file") -> list[MeterRow]:
    rows = _parse(data, source, METER_COLUMNS, METER_OPTIONAL, _meter)
    seen: dict[tuple[str, str], int] = {}
    errors = []
    for row in rows:
        key = (row.biller, row.meter_id)
        if key in seen:
            errors.append(LineError(row.line, f"meter {row.meter_id} repeats line {seen[key]}"))
        seen.setdefault(key, row.line)
    if errors:
        raise FileRejected(source, errors)
    return rows


def parse_reads(data: bytes, source: str = "reads file") -> list[ReadRow]:
    return _parse(data, source, READ_COLUMNS, (), read_row)


def looks_like_reads_csv(data: bytes) -> bool:
    first = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    return tuple(c.strip() for c in first.split(",")) == READ_COLUMNS

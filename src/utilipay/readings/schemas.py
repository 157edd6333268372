"""What the readings package reads, stores and reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Service(StrEnum):
    ELECTRICITY = "electricity"
    WATER = "water"
    GAS = "gas"


SHOWN_WARNINGS = 50  # a file of estimated reads warns on every line: show the first, count all
UNIT_OF = {Service.ELECTRICITY: "kWh", Service.WATER: "m3", Service.GAS: "m3"}
SINGLE = ("total",)
TIME_OF_USE = ("peak", "flat", "valley")  # the registers a time-of-use tariff prices


@dataclass(frozen=True, slots=True)
class Meter:
    biller_id: int
    meter_id: str
    account_no: str
    service: Service
    unit: str
    registers: tuple[str, ...]
    digits: int
    multiplier: Decimal
    installed_at: datetime
    removed_at: datetime | None

    @property
    def modulus(self) -> Decimal:
        """The register shows values below this and then starts again at zero."""
        return Decimal(10) ** self.digits


@dataclass(frozen=True, slots=True)
class MeterRow:
    """One line of a meters CSV, checked for shape but not yet against the database."""

    line: int
    biller: str
    account_no: str
    holder: str
    meter_id: str
    service: Service
    registers: tuple[str, ...]
    digits: int
    multiplier: Decimal
    installed_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReadRow:
    """One cumulative register read from a CSV line or a JSON item (``line``: where)."""

    line: int
    biller: str
    meter_id: str
    register: str
    read_at: datetime
    value: Decimal
    estimated: bool


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """Consumption over [start, end) in the meter's unit, from Green Button interval data."""

    line: int
    start: datetime
    end: datetime
    quantity: Decimal
    estimated: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning: the line was imported, but someone should know."""

    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ReadingRules:
    """What counts as plausible. A rollover is accepted only when the previous value is in
    the top ``rollover_band`` of the register's range, the new one in the bottom band, and
    the usage it implies is at most ``max_daily_usage`` (of the meter's unit) per elapsed
    day (at least one day). Read-to-read spans longer than ``gap_after`` are gaps: their
    usage is spread over the days and flagged estimated."""

    max_daily_usage: dict[Service, Decimal] = field(
        default_factory=lambda: {
            Service.ELECTRICITY: Decimal(1000),  # kWh: a large house, a small shop
            Service.WATER: Decimal(50),  # m³
            Service.GAS: Decimal(100),  # m³
        }
    )
    rollover_band: Decimal = Decimal("0.1")
    gap_after: timedelta = timedelta(hours=25)

    def max_usage(self, service: Service, elapsed: timedelta) -> Decimal:
        days = max(Decimal(elapsed.total_seconds()) / 86400, Decimal(1))
        return self.max_daily_usage[service] * days


@dataclass(slots=True)
class ImportReport:
    """What an import did; ``counts`` is stored with the import record."""

    import_id: int
    kind: str
    source: str
    counts: dict[str, int]
    warnings: list[Notice]

    def by_code(self) -> dict[str, int]:
        return dict(Counter(w.code for w in self.warnings))

    def as_json(self, shown: int = SHOWN_WARNINGS) -> dict[str, Any]:
        """The report, with the first ``shown`` warnings and how many of each kind."""
        return {
            "import_id": self.import_id,
            "kind": self.kind,
            "source": self.source,
            "counts": self.counts,
            "warnings_by_code": self.by_code(),
            "warnings": [w.as_json() for w in self.warnings[:shown]],
        }

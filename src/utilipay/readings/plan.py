"""What an import will write for one meter register, decided before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from utilipay.common.files import FileRejected, LineError
from utilipay.readings.schemas import Meter, Notice

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Span:
    """Usage measured over [start, end); its day shares are stored under ``end``."""

    start: datetime
    end: datetime
    quantity: Decimal
    estimated: bool


@dataclass(slots=True)
class Findings:
    """Errors reject the whole import; notices (warnings) are imported and reported."""

    errors: list[LineError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.errors.append(LineError(line, message))

    def notice(self, line: int, code: str, message: str) -> None:
        self.notices.append(Notice(line, code, message))

    def rejected(self, source: str) -> FileRejected:
        return FileRejected(source, sorted(self.errors, key=lambda e: e.line))


@dataclass(slots=True)
class SeriesPlan(Generic[T]):
    """New rows, rows replacing stored estimates, the spans to (re)derive, and the span
    ends whose stored day shares those spans replace."""

    meter: Meter
    register: str
    inserts: list[T] = field(default_factory=list)
    replacements: list[T] = field(default_factory=list)
    unchanged: int = 0
    spans: list[Span] = field(default_factory=list)
    stale_ends: list[datetime] = field(default_factory=list)

"""How the hub reaches a remote biller: URL, signing, timeouts and the resolution schedule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from utilipay.billers.protocol.framing import SignType
from utilipay.billers.protocol.messages import Trancode
from utilipay.common.validation import check_url
from utilipay.errors import DomainError, ErrorCode

DEFAULT_SCHEDULE = (5, 30, 120, 600, 1800)  # 5 s, 30 s, 2 min, 10 min, then every 30 min
DEFAULT_DEADLINE = 24 * 3600
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*([0-9]+)\s*(ms|s|m|h|d)\s*")


def parse_duration(text: str) -> float:
    """'30s', '2m', '24h', '1d', '500ms' → seconds."""
    found = _DURATION.fullmatch(text)
    if not found or int(found.group(1)) == 0:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"duration {text!r} must be a positive number with a unit: ms, s, m, h or d",
        )
    return int(found.group(1)) * _UNITS[found.group(2)]


def parse_schedule(text: str) -> tuple[int, ...]:
    """'5s,30s,2m,10m,30m' → (5, 30, 120, 600, 1800): delays between confirms, the last repeats."""
    delays = tuple(max(1, round(parse_duration(part))) for part in text.split(",") if part.strip())
    if not delays:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "a confirm schedule needs at least one delay"
        )
    return delays


@dataclass(frozen=True, slots=True)
class RemoteConnection:
    base_url: str
    sign_type: SignType
    key: str
    previous_key: str | None
    platform: str
    connect_timeout: float  # seconds
    total_timeout: float
    confirm_schedule: tuple[int, ...]
    resolution_deadline: timedelta
    max_refund_attempts: int
    endpoints: tuple[tuple[str, str], ...] = ()  # (trancode, URL) where not <base>/<trancode>

    def url(self, trancode: Trancode) -> str:
        return dict(self.endpoints).get(trancode) or f"{self.base_url.rstrip('/')}/{trancode}"

    @property
    def accepted_keys(self) -> tuple[str, ...]:
        """During a rotation the previous key is still accepted; we sign with the new one."""
        return (self.key, self.previous_key) if self.previous_key else (self.key,)

    def delay(self, attempt: int) -> timedelta:
        """How long to wait after the ``attempt``-th check (0-based) before the next."""
        return timedelta(
            seconds=self.confirm_schedule[min(attempt, len(self.confirm_schedule) - 1)]
        )

    def __repr__(self) -> str:  # keys stay out of logs and tracebacks
        return f"RemoteConnection({self.base_url!r}, {self.sign_type})"

    @classmethod
    def from_row(cls, m: Any) -> RemoteConnection:
        return cls(
            base_url=m["base_url"],
            sign_type=SignType(m["sign_type"]),
            key=m["key"],
            previous_key=m["previous_key"],
            platform=m["platform"],
            connect_timeout=m["connect_timeout_ms"] / 1000,
            total_timeout=m["total_timeout_ms"] / 1000,
            confirm_schedule=tuple(m["confirm_schedule"]),
            resolution_deadline=timedelta(seconds=m["resolution_deadline_s"]),
            max_refund_attempts=m["max_refund_attempts"],
            endpoints=tuple(sorted(m["endpoints"].items())),
        )


def check_key(key: str) -> str:
    if len(key) < 8:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "a biller key needs at least 8 characters")
    return key


def check_base_url(url: str) -> str:
    return check_url("biller URL", url)


def parse_endpoints(specs: list[str]) -> dict[str, str]:
    """['charge=https://…/pay', …] → {'charge': 'https://…/pay'}."""
    endpoints: dict[str, str] = {}
    for spec in specs:
        name, _, url = spec.partition("=")
        if name not in {t.value for t in Trancode} or not url:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"endpoint {spec!r} must be query|charge|confirm|refund=URL",
            )
        endpoints[name] = check_url(f"{name} URL", url)
    return endpoints

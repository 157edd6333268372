"""A biller's head-end system: where it listens, the secrets, timeouts and the give-up time.

The hub signs with ``secret``. A new secret makes the old one ``previous_secret``
(a rotation): answers signed with either are accepted until it is retired, so the
head-end can switch whenever it likes in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.clock import Clock
from utilipay.common.validation import check_url
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend.tables import head_ends

DEFAULT_CONNECT_TIMEOUT = 3.0  # seconds
DEFAULT_TOTAL_TIMEOUT = 10.0
DEFAULT_GIVE_UP_AFTER = timedelta(hours=1)  # then a person is asked to act
MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class HeadEnd:
    biller_id: int
    base_url: str
    secret: str
    previous_secret: str | None
    connect_timeout: float  # seconds
    total_timeout: float
    give_up_after: timedelta

    @property
    def accepted_secrets(self) -> tuple[str, ...]:
        """Secrets an answer may be signed with: the previous one too, during a rotation."""
        if self.previous_secret:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"HeadEnd(biller_id={self.biller_id}, base_url={self.base_url!r})"

    @classmethod
    def from_row(cls, m: Any) -> HeadEnd:
        return cls(
            biller_id=m["biller_id"],
            base_url=m["base_url"],
            secret=m["secret"],
            previous_secret=m["previous_secret"],
            connect_timeout=m["connect_timeout_ms"] / 1000,
            total_timeout=m["total_timeout_ms"] / 1000,
            give_up_after=timedelta(seconds=m["give_up_after_s"]),
        )


async def head_end_of(conn: AsyncConnection, biller_id: int) -> HeadEnd | None:
    row = (await conn.execute(select(head_ends).where(head_ends.c.biller_id == biller_id))).first()
    return HeadEnd.from_row(row._mapping) if row else None


def _check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"a head-end secret needs at least {MIN_SECRET} characters"
        )
    return secret


def _values(
    current: HeadEnd | None,
    url: str | None,
    secret: str | None,
    retire: bool,
    connect: float | None,
    total: float | None,
    give_up: timedelta | None,
) -> dict[str, Any]:
    """The columns to write, checked, from the options given and the current settings."""
    if current is None:
        if url is None or secret is None:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                "a head-end is configured first with its URL and secret",
            )
        defaults = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT, DEFAULT_GIVE_UP_AFTER)
        current = HeadEnd(0, url, secret, None, *defaults)
    connect = connect or current.connect_timeout
    total = total or current.total_timeout
    if connect > total:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"the connect timeout ({connect:g} s) exceeds the total timeout ({total:g} s)",
        )
    # A rotation: the old secret stays accepted until it is retired.
    rotated = secret is not None and secret != current.secret
    previous = current.secret if rotated else current.previous_secret
    return {
        "base_url": check_url("head-end URL", url) if url else current.base_url,
        "secret": _check_secret(secret) if secret else current.secret,
        "previous_secret": None if retire else previous,
        "connect_timeout_ms": round(connect * 1000),
        "total_timeout_ms": round(total * 1000),
        "give_up_after_s": max(1, round((give_up or current.give_up_after).total_seconds())),
    }


async def configure(
    conn: AsyncConnection,
    clock: Clock,
    biller_code: str,
    *,
    url: str | None = None,
    secret: str | None = None,
    retire_previous_secret: bool = False,
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
    give_up_after: timedelta | None = None,
    actor: str,
    reason: str = "",
) -> HeadEnd:
    """Set a biller's head-end (the first time ``url`` and ``secret`` are required), audited."""
    biller = await billers_repo.by_code(conn, biller_code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller_code}")
    current = await head_end_of(conn, biller.id)
    now = clock.now()
    values = _values(
        current, url, secret, retire_previous_secret, connect_timeout, total_timeout, give_up_after
    )
    values["updated_at"] = now
    row = (
        await conn.execute(
            pg_insert(head_ends)
            .values(biller_id=biller.id, created_at=now, **values)
            .on_conflict_do_update(index_elements=[head_ends.c.biller_id], set_=values)
            .returning(head_ends)
        )
    ).one()
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="head_end.configure",
        object_type="biller",
        object_id=biller_code,
        reason=reason,
        details={"changed": _changes(url, secret, retire_previous_secret, values)},
    )
    return HeadEnd.from_row(row._mapping)


def _changes(url: str | None, secret: str | None, retire: bool, values: dict[str, Any]) -> Any:
    """What changed, for the audit log: names and settings, never a secret."""
    changed = ["base_url"] if url else []
    changed += ["secret rotated"] if secret else []
    changed += ["previous secret retired"] if retire else []
    settings = {k: values[k] for k in ("connect_timeout_ms", "total_timeout_ms", "give_up_after_s")}
    return {"fields": changed, "settings": settings}

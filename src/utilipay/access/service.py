"""Creating, revoking and checking API tokens.

A token is ``upt_`` and 43 URL-safe characters (256 random bits): the prefix lets secret
scanners and people recognise one. Only its SHA-256 is stored, so a database dump gives
no access; a token is found by its hash (an index lookup, which reveals nothing about
near misses, unlike comparing characters). It is shown once, when created.

A name has at most one live (unrevoked) token: the name is who the audit log says
acted, and a revoked token's name may be given to its replacement.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.access.scopes import Scope
from utilipay.access.tables import api_tokens
from utilipay.audit import service as audit
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode

PREFIX = "upt_"
_RANDOM_BYTES = 32
_SHAPE = re.compile(r"upt_[A-Za-z0-9_-]{43}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# last_used_at is written at most this often per token: a Prometheus scrape every 15 s
# costs a read, not a write.
USE_MARK = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def refusal(self, now: datetime) -> str | None:
        """Why this token no longer admits anyone, or None."""
        if self.revoked_at is not None:
            return f"API token {self.name} was revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return f"API token {self.name} expired at {to_shanghai_iso(self.expires_at)}"
        return None

    def use_unmarked(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= USE_MARK

    def as_json(self) -> dict[str, Any]:
        def instant(at: datetime | None) -> str | None:
            return None if at is None else to_shanghai_iso(at)

        return {
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": instant(self.created_at),
            "created_by": self.created_by,
            "expires_at": instant(self.expires_at),
            "revoked_at": instant(self.revoked_at),
            "last_used_at": instant(self.last_used_at),
        }


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def _token(row: Any) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=m["id"], name=m["name"], scopes=tuple(Scope(s) for s in m["scopes"]),
        created_at=m["created_at"], created_by=m["created_by"], expires_at=m["expires_at"],
        revoked_at=m["revoked_at"], last_used_at=m["last_used_at"],
    )  # fmt: skip


def parse_scopes(given: Iterable[str]) -> tuple[Scope, ...]:
    """The scopes named, each once, in the canonical order; refused if none or unknown."""
    names = set(given)
    unknown = sorted(names - set(Scope))
    if unknown:
        known = ", ".join(Scope)
        raise _bad(f"unknown scope(s) {', '.join(unknown)}: the scopes are {known}")
    if not names:
        raise _bad(f"a token needs at least one scope: {', '.join(Scope)}")
    return tuple(s for s in Scope if s in names)


async def _live(conn: AsyncConnection, name: str) -> ApiToken | None:
    query = select(api_tokens).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
    row = (await conn.execute(query)).first()
    return None if row is None else _token(row)


async def create(
    conn: AsyncConnection,
    clock: Clock,
    name: str,
    scopes: Iterable[str],
    *,
    expires_at: datetime | None = None,
    actor: str,
) -> tuple[ApiToken, str]:
    """A new token for ``name``: the token's record, and the token (shown this once)."""
    if not _NAME.fullmatch(name):
        raise _bad(f"token name {name!r} must be 1-64 of A-Z, a-z, 0-9 and . _ @ -")
    granted = parse_scopes(scopes)
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise _bad(f"the expiry {to_shanghai_iso(expires_at)} is not in the future")
    if await _live(conn, name) is not None:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT, f"{name} already has a token: revoke it first"
        )
    secret = PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    row = (
        await conn.execute(
            insert(api_tokens)
            .values(
                name=name,
                token_sha256=_digest(secret),
                scopes=list(granted),
                created_at=now,
                created_by=actor,
                expires_at=expires_at,
            )
            .returning(api_tokens)
        )
    ).one()
    token = _token(row)
    after = {"scopes": list(granted), "expires_at": token.as_json()["expires_at"]}
    await audit.record(
        conn, clock, actor=actor, action="token.create", object_type="api_token",
        object_id=name, after=after,
    )  # fmt: skip
    return token, secret


async def revoke(
    conn: AsyncConnection, clock: Clock, name: str, *, actor: str, reason: str = ""
) -> ApiToken:
    """Revoke ``name``'s live token: from now on it is refused (401)."""
    found = await _live(conn, name)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{name} has no live token")
    row = (
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == found.id)
            .values(revoked_at=clock.now(), revoked_by=actor)
            .returning(api_tokens)
        )
    ).one()
    await audit.record(
        conn, clock, actor=actor, action="token.revoke", object_type="api_token",
        object_id=name, reason=reason, before={"revoked_at": None},
        after={"revoked_at": to_shanghai_iso(clock.now())},
    )  # fmt: skip
    return _token(row)


async def all_tokens(conn: AsyncConnection, *, revoked: bool = False) -> list[ApiToken]:
    """Tokens by name (and age), the revoked ones only if asked for."""
    query = select(api_tokens).order_by(api_tokens.c.name, api_tokens.c.id)
    if not revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    return [_token(r) for r in await conn.execute(query)]


async def find(conn: AsyncConnection, presented: str) -> ApiToken | None:
    """The token presented, revoked or not; None for anything that is not one of ours."""
    if not _SHAPE.fullmatch(presented):  # no lookup for what cannot be a token
        return None
    query = select(api_tokens).where(api_tokens.c.token_sha256 == _digest(presented))
    row = (await conn.execute(query)).first()
    return None if row is None else _token(row)


async def mark_used(conn: AsyncConnection, token: ApiToken, now: datetime) -> None:
    # the condition keeps concurrent requests from moving the mark backwards
    await conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token.id)
        .where(api_tokens.c.last_used_at.is_(None) | (api_tokens.c.last_used_at < now))
        .values(last_used_at=now)
    )

"""Registering channels and rotating their secrets."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.channels import repository
from utilipay.channels.auth import NONCE_TTL_SECONDS
from utilipay.channels.schemas import Channel, ChannelKind, ChannelStatus
from utilipay.clock import Clock
from utilipay.common.changes import announce_change
from utilipay.common.validation import check_code, check_url
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, Owner, open_account

MIN_SECRET_LENGTH = 16


def _check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"a channel secret needs at least {MIN_SECRET_LENGTH} characters",
        )
    return secret


def _check_rate(rate_limit: int | None) -> int | None:
    """The limit to store: 0 means no limit, on adding as on updating (stored as none)."""
    if rate_limit is not None and not 0 <= rate_limit <= 1_000_000:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"rate limit {rate_limit}: give 1 to 1,000,000 requests per second, or 0 for none",
        )
    return rate_limit or None


def _check_name(name: str) -> str:
    if not name.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "a channel's name may not be empty")
    return name.strip()


# An origin a channel's app serves its pages from: scheme, host and port, nothing else, so
# it can go verbatim into a Content-Security-Policy's frame-ancestors.
_ORIGIN = re.compile(
    r"https://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?"
)


def check_frame_ancestors(origins: str) -> str | None:
    """The space-separated origins that may frame the payer pages ('' for none)."""
    for origin in origins.split():
        if not _ORIGIN.fullmatch(origin):
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"frame ancestor {origin[:80]!r}: give origins such as https://app.example.com "
                "(http:// only on loopback), separated by spaces",
            )
    return " ".join(origins.split()) or None


async def purge_expired_nonces(conn: AsyncConnection, clock: Clock) -> int:
    """Forget nonces older than their replay window; one server process at a time does it."""
    locked = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext('nonce-purge'))"))
    if not locked:
        return 0
    return await repository.purge_nonces(conn, clock.now() - timedelta(seconds=NONCE_TTL_SECONDS))


def _shown(value: object) -> object:
    """A setting as the audit log holds it (the origins as the text they were given in)."""
    return " ".join(value) or None if isinstance(value, tuple) else value


async def _reload(conn: AsyncConnection, code: str) -> Channel:
    channel = await repository.by_code(conn, code)
    if channel is None:  # we just wrote it in this transaction
        raise RuntimeError(f"channel {code} vanished inside its own transaction")
    return channel


async def add_channel(
    conn: AsyncConnection,
    clock: Clock,
    *,
    code: str,
    secret: str,
    name: str | None = None,
    webhook_url: str | None = None,
    rate_limit: int | None = None,
    debit_url: str | None = None,
    kind: ChannelKind = ChannelKind.WALLET,
    actor: str,
) -> Channel:
    check_code("channel", code)
    if debit_url is not None:
        check_url("debit URL", debit_url)
    rate_limit = _check_rate(rate_limit)
    _check_secret(secret)
    if webhook_url is not None:
        check_url("webhook URL", webhook_url)
    if await repository.by_code(conn, code) is not None:
        raise DomainError(ErrorCode.IDEMPOTENCY_CONFLICT, f"channel {code} already exists")
    channel_id = await repository.insert_channel(
        conn,
        code=code,
        name=name or code,
        secret=secret,
        webhook_url=webhook_url,
        rate_limit=rate_limit,
        debit_url=debit_url,
        kind=ChannelKind(kind),
        created_at=clock.now(),
    )
    await open_account(conn, clock, AccountKind.CHANNEL_RECEIVABLE, Owner(channel_id, code))
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="channel.add",
        object_type="channel",
        object_id=code,
        details={
            "webhook_url": webhook_url,
            "rate_limit": rate_limit,
            "debit_url": debit_url,
            "kind": kind,
        },
    )
    await announce_change(conn)
    return await _reload(conn, code)


async def update_channel(
    conn: AsyncConnection,
    clock: Clock,
    code: str,
    *,
    new_secret: str | None = None,
    retire_previous_secret: bool = False,
    name: str | None = None,
    webhook_url: str | None = None,
    status: ChannelStatus | None = None,
    rate_limit: int | None = None,
    debit_url: str | None = None,
    kind: ChannelKind | None = None,
    cashier_url: str | None = None,
    frame_ancestors: str | None = None,
    actor: str,
    reason: str = "",
) -> Channel:
    """Change a channel. A new secret becomes current and the old one stays accepted
    (a rotation) until ``retire_previous_secret``."""
    channel = await repository.by_code(conn, code)
    if channel is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {code}")
    values: dict[str, object] = {}
    if new_secret is not None:
        values["secret"] = _check_secret(new_secret)
        values["previous_secret"] = channel.secret
    if retire_previous_secret:
        values["previous_secret"] = None
    if name is not None:
        values["name"] = _check_name(name)
    if webhook_url is not None:
        values["webhook_url"] = check_url("webhook URL", webhook_url) if webhook_url else None
    if status is not None:
        values["status"] = status
    if debit_url is not None:  # '' removes it
        values["debit_url"] = check_url("debit URL", debit_url) if debit_url else None
    if rate_limit is not None:  # 0 lifts the limit
        values["rate_limit"] = _check_rate(rate_limit)
    if cashier_url is not None:  # '' removes it
        values["cashier_url"] = check_url("cashier URL", cashier_url) if cashier_url else None
    if frame_ancestors is not None:  # '' removes them
        values["frame_ancestors"] = check_frame_ancestors(frame_ancestors)
    if kind is not None and kind != channel.kind:
        values["kind"] = ChannelKind(kind)
    if not values:
        return channel
    await repository.update_channel(conn, channel.id, **values)
    changed = sorted(k for k in values if "secret" not in k)
    secrets = ["secret rotated"] if new_secret else []
    secrets += ["previous secret retired"] if retire_previous_secret else []
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="channel.update",
        object_type="channel",
        object_id=code,
        reason=reason,
        details={"changed": changed + secrets},
        before={k: _shown(getattr(channel, k)) for k in changed} or None,
        after={k: values[k] for k in changed} or None,
    )
    await announce_change(conn)
    return await _reload(conn, code)

"""Registering billers (utilities) with the hub and changing how they are reached."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository
from utilipay.billers.connection import (
    DEFAULT_DEADLINE,
    DEFAULT_SCHEDULE,
    check_base_url,
    check_key,
)
from utilipay.billers.prepaid import PrepaidSettings, prepaid_changes
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.rules import AccountRule
from utilipay.billers.schemas import (
    Biller,
    BillerStatus,
    Category,
    IntegrationMode,
    Verification,
)
from utilipay.clock import Clock
from utilipay.common.changes import announce_change
from utilipay.common.files import LineError
from utilipay.common.validation import check_code
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, Owner, open_account

_REGION = re.compile(r"([0-9]{6})?")  # GB/T 2260 administrative division code, or none


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """Connection settings an operator gives; None leaves a setting as it is."""

    url: str | None = None
    key: str | None = None  # a new key: the old one stays accepted until retired
    retire_previous_key: bool = False
    sign_type: SignType | None = None
    confirm_schedule: tuple[int, ...] | None = None  # seconds
    resolution_deadline_s: int | None = None
    connect_timeout_ms: int | None = None
    total_timeout_ms: int | None = None
    max_refund_attempts: int | None = None
    endpoints: dict[str, str] | None = None  # URL per transaction code, overriding base/<code>


@dataclass(frozen=True, slots=True)
class AutopaySettings:
    """A biller's auto-pay rules; None leaves a setting as it is."""

    default_cap: int | None = None  # fen, for a mandate signed without a cap
    max_cap: int | None = None  # fen, the most a payer may choose
    poll_s: int | None = None  # remote: how often accounts with a mandate are asked for bills
    debit_notice_s: int | None = None  # how long after a bill its debit may go


def _autopay_changes(biller: Biller, autopay: AutopaySettings) -> dict[str, Any]:
    changes = {
        column: value
        for column, value in (
            ("mandate_default_cap", autopay.default_cap),
            ("mandate_max_cap", autopay.max_cap),
            ("mandate_poll_s", autopay.poll_s),
            ("debit_notice_s", autopay.debit_notice_s),
        )
        if value is not None
    }
    if any(v <= 0 for k, v in changes.items() if k != "debit_notice_s"):
        raise _bad("auto-pay caps and the poll interval must be positive")
    if not 0 <= changes.get("debit_notice_s", 0) <= 86400:
        # the notice must leave the debit most of its 3-working-day window
        raise _bad("the debit notice must be between 0 and 1 day")
    default = changes.get("mandate_default_cap", biller.mandate_default_cap)
    maximum = changes.get("mandate_max_cap", biller.mandate_max_cap)
    if default > maximum:
        raise _bad(f"the default cap {default} fen is above the maximum cap {maximum} fen")
    if maximum > biller.max_payment:  # a debit above it could never be written off
        raise _bad(f"the maximum cap {maximum} fen is above the largest payment, "
                   f"{biller.max_payment} fen")  # fmt: skip
    return changes


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


async def _reload(conn: AsyncConnection, code: str) -> Biller:
    biller = await repository.by_code(conn, code)
    if biller is None:  # we just wrote it in this transaction
        raise RuntimeError(f"biller {code} vanished inside its own transaction")
    return biller


class AccountLine(Protocol):
    """A file's line that names a biller and one of its accounts."""

    @property
    def line(self) -> int: ...
    @property
    def biller(self) -> str: ...
    @property
    def account_no(self) -> str: ...


async def hosted_billers_of(
    conn: AsyncConnection, rows: Sequence[AccountLine], errors: list[LineError], keeps: str
) -> dict[str, Biller]:
    """The hosted billers a file's lines name, by code; a line whose biller is unknown, or
    remote (it keeps its own ``keeps``), or whose account fails its rule adds to ``errors``."""
    billers: dict[str, Biller] = {}
    for code in sorted({r.biller for r in rows}):
        biller = await repository.by_code(conn, code)
        if biller is not None:
            billers[code] = biller
    for row in rows:
        biller = billers.get(row.biller)
        if biller is None:
            errors.append(LineError(row.line, f"unknown biller {row.biller}"))
        elif biller.mode is not IntegrationMode.HOSTED:
            errors.append(
                LineError(row.line, f"biller {row.biller} keeps its own {keeps} (remote)")
            )
        elif not biller.rule.accepts(row.account_no):
            errors.append(
                LineError(row.line, f"account {row.account_no} fails {row.biller}'s account rule")
            )
    return billers


async def hosted_biller(conn: AsyncConnection, code: str, needs: str) -> Biller:
    """The hosted biller ``code``; refused if unknown, or remote (it keeps its own books, so
    ``needs``, what the caller wants of it, is not the hub's to do)."""
    biller = await repository.by_code(conn, code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"biller {code} not found")
    if biller.mode is not IntegrationMode.HOSTED:
        raise _bad(f"biller {code} keeps its own books (remote): {needs} only for a hosted biller")
    return biller


def _new_connection(remote: RemoteSettings | None) -> dict[str, Any]:
    if remote is None or not (remote.url and remote.key and remote.sign_type):
        raise _bad("a remote biller needs --url, --key and --sign-type")
    return {
        "base_url": check_base_url(remote.url),
        "sign_type": remote.sign_type,
        "key": check_key(remote.key),
        "confirm_schedule": list(remote.confirm_schedule or DEFAULT_SCHEDULE),
        "resolution_deadline_s": remote.resolution_deadline_s or DEFAULT_DEADLINE,
        "connect_timeout_ms": remote.connect_timeout_ms or 3000,
        "total_timeout_ms": remote.total_timeout_ms or 10000,
        "max_refund_attempts": remote.max_refund_attempts or 8,
        "endpoints": remote.endpoints or {},
    }


async def add_biller(
    conn: AsyncConnection,
    clock: Clock,
    *,
    code: str,
    name: str,
    category: Category,
    mode: IntegrationMode,
    account_rule: str,
    account_hint: str = "",
    region: str = "",
    parent_code: str | None = None,
    remote: RemoteSettings | None = None,
    autopay: AutopaySettings | None = None,
    prepaid: PrepaidSettings | None = None,
    actor: str,
) -> Biller:
    check_code("biller", code)
    rule = AccountRule.parse(account_rule, account_hint)
    if not _REGION.fullmatch(region):
        raise _bad(f"region {region!r} must be 6 digits")
    if mode is IntegrationMode.HOSTED and remote is not None:
        raise _bad("a hosted biller keeps its bills in the hub: no URL or key")
    connection = _new_connection(remote) if mode is IntegrationMode.REMOTE else None
    if await repository.by_code(conn, code) is not None:
        raise DomainError(ErrorCode.IDEMPOTENCY_CONFLICT, f"biller {code} already exists")
    parent_id = None
    if parent_code is not None:
        parent = await repository.by_code(conn, parent_code)
        if parent is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no parent biller {parent_code}")
        parent_id = parent.id
    biller_id = await repository.insert_biller(
        conn,
        code=code,
        name=name,
        category=category,
        region=region,
        parent_id=parent_id,
        rule=rule,
        mode=mode,
        created_at=clock.now(),
    )
    if connection is not None:
        await repository.insert_connection(conn, biller_id, **connection, updated_at=clock.now())
    await open_account(conn, clock, AccountKind.BILLER_PAYABLE, Owner(biller_id, code))
    added = await _reload(conn, code)
    rules = _autopay_changes(added, autopay or AutopaySettings())
    rules |= prepaid_changes(added, prepaid or PrepaidSettings())
    if rules:
        await repository.update_biller(conn, biller_id, **rules)
    details = {"mode": mode, "category": category, "parent": parent_code, "rule": account_rule}
    details |= rules
    if connection is not None:
        details |= {k: v for k, v in connection.items() if k != "key"}
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="biller.add",
        object_type="biller",
        object_id=code,
        details=details,
    )
    await announce_change(conn)
    return await _reload(conn, code)


def _connection_changes(biller: Biller, remote: RemoteSettings) -> dict[str, Any]:
    if biller.remote is None:
        raise _bad(f"biller {biller.code} is hosted: it has no connection to change")
    changes: dict[str, Any] = {}
    if remote.url is not None:
        changes["base_url"] = check_base_url(remote.url)
    if remote.key is not None:
        changes["key"] = check_key(remote.key)
        changes["previous_key"] = biller.remote.key
    if remote.retire_previous_key:
        changes["previous_key"] = None
    if remote.sign_type is not None:
        changes["sign_type"] = remote.sign_type
    if remote.confirm_schedule is not None:
        changes["confirm_schedule"] = list(remote.confirm_schedule)
    if remote.endpoints is not None:
        changes["endpoints"] = remote.endpoints
    for name in (
        "resolution_deadline_s",
        "connect_timeout_ms",
        "total_timeout_ms",
        "max_refund_attempts",
    ):
        value = getattr(remote, name)
        if value is not None:
            if value <= 0:
                raise _bad(f"{name} must be positive")
            changes[name] = value
    return changes


def _checked_verification(biller: Biller, verification: Verification, reason: str) -> str:
    """A new verification mode: it changes who may see an account, so it says why; a remote
    biller's holder names stay with the biller (its answers mask them), so it cannot ask
    for one."""
    if not reason.strip():
        raise _bad("changing how bindings are verified needs --reason")
    if verification is Verification.HOLDER_NAME and biller.mode is IntegrationMode.REMOTE:
        raise _bad(
            f"biller {biller.code} is remote: the hub keeps no holder names to compare; "
            "choose sms (phones set with `utilipay accounts update --phone`) or none"
        )
    return verification.value


async def update_biller(
    conn: AsyncConnection,
    clock: Clock,
    code: str,
    *,
    name: str | None = None,
    status: BillerStatus | None = None,
    remote: RemoteSettings | None = None,
    autopay: AutopaySettings | None = None,
    prepaid: PrepaidSettings | None = None,
    verification: Verification | None = None,
    actor: str,
    reason: str = "",
) -> Biller:
    biller = await repository.by_code(conn, code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    values: dict[str, Any] = _autopay_changes(biller, autopay) if autopay else {}
    values |= prepaid_changes(biller, prepaid) if prepaid else {}
    if verification is not None and verification is not biller.verification:
        values["verification"] = _checked_verification(biller, verification, reason)
    if name is not None:
        values["name"] = name
    if status is not None:
        values["status"] = status
    if values:
        await repository.update_biller(conn, biller.id, **values)
    changes = _connection_changes(biller, remote) if remote is not None else {}
    if changes:
        await repository.update_connection(conn, biller.id, **changes, updated_at=clock.now())
    changed = [k for k, v in values.items() if getattr(biller, k) != v]
    logged = sorted(values) + [k for k in changes if "key" not in k]
    logged += ["key rotated"] if "key" in changes else []
    logged += ["previous key retired"] if remote is not None and remote.retire_previous_key else []
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="biller.update",
        object_type="biller",
        object_id=code,
        reason=reason,
        details={"changed": logged},
        before={k: getattr(biller, k) for k in changed} or None,
        after={k: values[k] for k in changed} or None,
    )
    await announce_change(conn)
    return await _reload(conn, code)

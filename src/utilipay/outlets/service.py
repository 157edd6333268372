"""Setting up an agent channel's outlets (channel-api.md §11): adding one with its float
(a ledger account and a float row at zero), changing it, suspending and resuming it.
Every change is in the audit log, with who and why; bad input is refused before anything
is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.channels import repository as channels_repo
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import Clock
from utilipay.common.validation import has_control_characters
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, Owner, open_account
from utilipay.outlets import repository
from utilipay.outlets.repository import Outlet
from utilipay.outlets.schemas import OutletKind, OutletStatus

CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")  # the tables' own check, said in words below
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_TEXT = 200
MAX_THRESHOLD = 10**11  # fen: a billion yuan, far above any outlet's float


def _refuse(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def check_code(what: str, code: str) -> str:
    if not CODE.fullmatch(code):
        raise _refuse(f"{what} code {code!r} must be 1-32 characters of A-Z, a-z, 0-9, _ . -")
    return code


def check_text(what: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT or has_control_characters(value):
        raise _refuse(f"{what} must be 1-{MAX_TEXT} printable characters")
    return value


def check_reason(reason: str) -> str:
    if not reason.strip():
        raise _refuse("give the reason (--reason): it goes to the audit log")
    return reason.strip()


def _check_threshold(fen: int) -> int:
    if not 0 <= fen <= MAX_THRESHOLD:
        raise _refuse(f"low-float threshold {fen}: give 0 to {MAX_THRESHOLD} fen")
    return fen


def _contacts(name: str | None, phone: str | None, email: str | None) -> dict[str, str | None]:
    """The owner's contacts given ('' removes one), checked."""
    found: dict[str, str | None] = {}
    if name is not None:
        found["owner_name"] = check_text("the owner's name", name) if name else None
    if phone is not None:
        if phone and not _PHONE.fullmatch(phone):
            raise _refuse(f"owner phone {phone!r}: digits, spaces and '-', 5-20, '+' first")
        found["owner_phone"] = phone or None
    if email is not None:
        if email and not _EMAIL.fullmatch(email):
            raise _refuse(f"owner email {email!r} is not an e-mail address")
        found["owner_email"] = email or None
    return found


async def find(conn: AsyncConnection, channel: str, code: str) -> Outlet:
    found = await repository.outlet(conn, channel, code)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no outlet {code} of channel {channel}")
    return found


async def _agent_channel(conn: AsyncConnection, code: str) -> Owner:
    channel = await channels_repo.by_code(conn, code)
    if channel is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {code}")
    if channel.kind is not ChannelKind.AGENT:
        raise _refuse(
            f"channel {code} is of kind {channel.kind}: only an agent channel runs outlets "
            f"(utilipay channels update {code} --kind agent)"
        )
    return Owner(channel.id, channel.code)


async def add_outlet(
    conn: AsyncConnection,
    clock: Clock,
    *,
    channel: str,
    code: str,
    name: str,
    kind: OutletKind,
    region: str,
    low_threshold: int,
    owner_name: str | None = None,
    owner_phone: str | None = None,
    owner_email: str | None = None,
    actor: str,
) -> Outlet:
    """An outlet of an agent channel, with its float: the ledger account (OUTLET_FLOAT,
    the channel's in the chart) and the float row, both at zero."""
    check_code("outlet", code)
    values = {
        "name": check_text("the outlet's name", name), "kind": OutletKind(kind),
        "region": check_text("the region", region),
        "low_threshold": _check_threshold(low_threshold),
        **_contacts(owner_name, owner_phone, owner_email),
    }  # fmt: skip
    owner = await _agent_channel(conn, channel)
    if (taken := await repository.code_taken(conn, owner.id, code)) is not None:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT, f"channel {channel} already has outlet {taken}"
        )
    account = await open_account(conn, clock, AccountKind.OUTLET_FLOAT, owner, account_no=code)
    outlet_id = await repository.insert_outlet(
        conn, channel_id=owner.id, code=code, status=OutletStatus.ACTIVE,
        float_account=account, created_at=clock.now(), **values,
    )  # fmt: skip
    added = await repository.outlet_by_id(conn, outlet_id)
    await audit.record(
        conn, clock, actor=actor, action="outlet.add", object_type="outlet",
        object_id=added.key, after=_shown(values),
    )  # fmt: skip
    return added


def _shown(values: Mapping[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, StrEnum) else v for k, v in values.items()}


async def update_outlet(
    conn: AsyncConnection,
    clock: Clock,
    channel: str,
    code: str,
    *,
    name: str | None = None,
    region: str | None = None,
    low_threshold: int | None = None,
    owner_name: str | None = None,
    owner_phone: str | None = None,
    owner_email: str | None = None,
    actor: str,
    reason: str = "",
) -> Outlet:
    """Change an outlet's name, region, threshold or owner's contacts ('' removes a
    contact); only what differs is written and recorded."""
    values: dict[str, object] = {**_contacts(owner_name, owner_phone, owner_email)}
    if name is not None:
        values["name"] = check_text("the outlet's name", name)
    if region is not None:
        values["region"] = check_text("the region", region)
    if low_threshold is not None:
        values["low_threshold"] = _check_threshold(low_threshold)
    found = await find(conn, channel, code)
    changed = {k: v for k, v in values.items() if getattr(found, k) != v}
    if not changed:
        return found
    await repository.update_outlet(conn, found.id, **changed)
    await audit.record(
        conn, clock, actor=actor, action="outlet.update", object_type="outlet",
        object_id=found.key, reason=reason,
        before={k: getattr(found, k) for k in changed}, after=changed,
    )  # fmt: skip
    return await repository.outlet_by_id(conn, found.id)


async def set_status(
    conn: AsyncConnection,
    clock: Clock,
    channel: str,
    code: str,
    status: OutletStatus,
    *,
    actor: str,
    reason: str,
) -> Outlet:
    """Suspend an outlet (its terminals are refused from the next request on) or resume
    it; the reason is required."""
    reason = check_reason(reason)
    found = await find(conn, channel, code)
    if found.status == status:
        raise DomainError(ErrorCode.IDEMPOTENCY_CONFLICT, f"outlet {found.key} is {status} already")
    await repository.update_outlet(conn, found.id, status=status)
    action = "outlet.suspend" if status is OutletStatus.SUSPENDED else "outlet.resume"
    await audit.record(
        conn, clock, actor=actor, action=action, object_type="outlet", object_id=found.key,
        reason=reason, before={"status": found.status}, after={"status": str(status)},
    )  # fmt: skip
    return await repository.outlet_by_id(conn, found.id)

"""An outlet's terminals and operators (收费员), set up by the hub's operators
(channel-api.md §11).

A terminal's id is the hub's (``T…``); its secret is made here, returned once to be shown
once, and kept only sealed. A rotation follows the channels' rule (``channels/service.py``):
the new secret becomes current and the old one stays accepted until it is dropped or the
next rotation replaces it. A revoked terminal stays revoked. Every change is audited.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.outlets import repository
from utilipay.outlets.repository import Operator, Terminal
from utilipay.outlets.schemas import OperatorStatus, TerminalType
from utilipay.outlets.service import check_code, check_reason, check_text, find

SECRET_BYTES = 32  # 43 URL-safe characters, as the CLI's generated channel secrets


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


async def add_terminal(
    conn: AsyncConnection,
    clock: Clock,
    *,
    channel: str,
    outlet: str,
    type: TerminalType,
    label: str,
    actor: str,
) -> tuple[Terminal, str]:
    """A new terminal of the outlet and its secret, to be shown this once."""
    label = check_text("the terminal's label", label)
    kind = TerminalType(type)
    where = await find(conn, channel, outlet)
    terminal_id, secret = new_id("T"), _new_secret()
    await repository.insert_terminal(
        conn, id=terminal_id, outlet_id=where.id, type=kind, label=label, secret=secret,
        status="ACTIVE", created_at=clock.now(),
    )  # fmt: skip
    await audit.record(
        conn, clock, actor=actor, action="terminal.add", object_type="terminal",
        object_id=terminal_id, after={"outlet": where.key, "type": str(kind), "label": label},
    )  # fmt: skip
    return await _reload(conn, terminal_id), secret


async def _active(conn: AsyncConnection, terminal_id: str) -> Terminal:
    found = await repository.terminal(conn, terminal_id)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no terminal {terminal_id}")
    if found.status == "REVOKED":
        raise DomainError(ErrorCode.IDEMPOTENCY_CONFLICT, f"terminal {terminal_id} is revoked")
    return found


async def _reload(conn: AsyncConnection, terminal_id: str) -> Terminal:
    found = await repository.terminal(conn, terminal_id)
    if found is None:  # written in this very transaction
        raise RuntimeError(f"terminal {terminal_id} vanished inside its own transaction")
    return found


async def rotate_terminal(
    conn: AsyncConnection, clock: Clock, terminal_id: str, *, actor: str, reason: str = ""
) -> tuple[Terminal, str]:
    """A new secret, shown once; the old one stays accepted as the previous secret."""
    await _active(conn, terminal_id)
    secret = _new_secret()
    await repository.rotate_terminal_secret(conn, terminal_id, secret, clock.now())
    await audit.record(
        conn, clock, actor=actor, action="terminal.rotate", object_type="terminal",
        object_id=terminal_id, reason=reason, details={"changed": ["secret rotated"]},
    )  # fmt: skip
    return await _reload(conn, terminal_id), secret


async def drop_previous_secret(
    conn: AsyncConnection, clock: Clock, terminal_id: str, *, actor: str, reason: str = ""
) -> Terminal:
    """End a rotation: the previous secret is no longer accepted."""
    found = await _active(conn, terminal_id)
    if not found.has_previous_secret:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT, f"terminal {terminal_id} has no previous secret"
        )
    await repository.update_terminal(conn, terminal_id, previous_secret=None)
    await audit.record(
        conn, clock, actor=actor, action="terminal.rotate", object_type="terminal",
        object_id=terminal_id, reason=reason, details={"changed": ["previous secret dropped"]},
    )  # fmt: skip
    return await _reload(conn, terminal_id)


async def revoke_terminal(
    conn: AsyncConnection, clock: Clock, terminal_id: str, *, actor: str, reason: str
) -> Terminal:
    """Revoke a terminal for good: its requests are refused (401) from now on."""
    reason = check_reason(reason)
    await _active(conn, terminal_id)
    await repository.update_terminal(
        conn, terminal_id, status="REVOKED", revoked_at=clock.now(), previous_secret=None
    )
    await audit.record(
        conn, clock, actor=actor, action="terminal.revoke", object_type="terminal",
        object_id=terminal_id, reason=reason, before={"status": "ACTIVE"},
        after={"status": "REVOKED"},
    )  # fmt: skip
    return await _reload(conn, terminal_id)


async def add_operator(
    conn: AsyncConnection,
    clock: Clock,
    *,
    channel: str,
    outlet: str,
    code: str,
    name: str,
    actor: str,
) -> Operator:
    """An operator of the outlet: the ``"operator"`` a terminal sends is this code."""
    check_code("operator", code)
    name = check_text("the operator's name", name)
    where = await find(conn, channel, outlet)
    if await repository.operator(conn, where.id, code) is not None:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT, f"outlet {where.key} already has operator {code}"
        )
    await repository.insert_operator(
        conn, outlet_id=where.id, code=code, name=name, status=OperatorStatus.ACTIVE,
        created_at=clock.now(),
    )  # fmt: skip
    await audit.record(
        conn, clock, actor=actor, action="operator.add", object_type="operator",
        object_id=f"{where.key}/{code}", after={"name": name},
    )  # fmt: skip
    return await _operator(conn, where.id, code)


async def _operator(conn: AsyncConnection, outlet_id: int, code: str) -> Operator:
    found = await repository.operator(conn, outlet_id, code)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no operator {code} at this outlet")
    return found


async def set_operator_status(
    conn: AsyncConnection,
    clock: Clock,
    *,
    channel: str,
    outlet: str,
    code: str,
    status: OperatorStatus,
    actor: str,
    reason: str = "",
) -> Operator:
    """Disable an operator (refused at the terminals from then on) or enable one again."""
    where = await find(conn, channel, outlet)
    found = await _operator(conn, where.id, code)
    if found.status == status:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT, f"operator {code} of {where.key} is {status} already"
        )
    await repository.set_operator_status(conn, where.id, code, status)
    action = "operator.disable" if status is OperatorStatus.DISABLED else "operator.enable"
    await audit.record(
        conn, clock, actor=actor, action=action, object_type="operator",
        object_id=f"{where.key}/{code}", reason=reason, before={"status": found.status},
        after={"status": str(status)},
    )  # fmt: skip
    return await _operator(conn, where.id, code)

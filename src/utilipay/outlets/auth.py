"""Who is at the counter: an agent channel's terminals, as each server process keeps them.

A terminal signs its requests as its channel would, with its own secret
(channel-api.md §11; ``channels.auth.verify_request`` checks it). Every terminal
request needs its terminal, its outlet and, for a payment, its operator: the
process keeps them in memory with the channels (``runtime/directory.py``), reloaded
when a terminal, an outlet or an operator changes (the triggers of
``sql/floats.sql`` announce it) and at most once a second on a miss, so a terminal
payment costs no query more than a channel's to authenticate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels.auth import SignedCall
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.schemas import OutletKind, TerminalType
from utilipay.outlets.tables import outlet_operators, outlets, terminals


@dataclass(frozen=True, slots=True)
class Terminal:
    """A terminal with what a request from it needs of its outlet."""

    id: str
    type: TerminalType
    active: bool
    secret: str
    previous_secret: str | None
    outlet_id: int
    outlet_code: str
    outlet_kind: OutletKind
    outlet_active: bool
    channel_id: int
    float_account: int
    operators: frozenset[str]  # the outlet's ACTIVE operators' codes

    @property
    def may_sign(self) -> bool:
        return self.active and self.outlet_active

    @property
    def accepted_secrets(self) -> tuple[str, ...]:
        """During a rotation the previous secret is still accepted (as a channel's, §3)."""
        if self.previous_secret:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    @property
    def needs_operator(self) -> bool:
        """A counter's or a collector's payments name who took them (§11)."""
        return self.outlet_kind is not OutletKind.SHOP

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"Terminal(id={self.id!r}, outlet={self.outlet_code!r})"


def terminal_of(call: SignedCall) -> Terminal | None:
    """The terminal that signed ``call``, if one did (the hub's directory gives Terminals)."""
    terminal = call.terminal
    if terminal is not None and not isinstance(terminal, Terminal):
        raise TypeError(f"a terminal of unknown kind signed this call: {type(terminal)}")
    return terminal


def terminal_required(call: SignedCall) -> Terminal:
    """The terminal that signed ``call``; a channel's own signature may not act for an
    outlet (403)."""
    terminal = terminal_of(call)
    if terminal is None:
        raise DomainError(ErrorCode.FORBIDDEN, "only a terminal of an outlet may ask (§11)")
    return terminal


_TERMINALS = select(
    terminals.c.id,
    terminals.c.type,
    terminals.c.status,
    terminals.c.secret,
    terminals.c.previous_secret,
    outlets.c.id.label("outlet_id"),
    outlets.c.code.label("outlet_code"),
    outlets.c.kind.label("outlet_kind"),
    outlets.c.status.label("outlet_status"),
    outlets.c.channel_id,
    outlets.c.float_account,
).join(outlets, outlets.c.id == terminals.c.outlet_id)


async def all_terminals(conn: AsyncConnection) -> list[Terminal]:
    """Every terminal, the revoked too (they are refused, not unknown), with its outlet."""
    operators: dict[int, set[str]] = {}
    active_operators = select(outlet_operators.c.outlet_id, outlet_operators.c.code).where(
        outlet_operators.c.status == "ACTIVE"
    )
    for outlet_id, code in await conn.execute(active_operators):
        operators.setdefault(outlet_id, set()).add(code)
    return list(_terminals(await conn.execute(_TERMINALS), operators))


def _terminals(rows: Iterable[object], operators: dict[int, set[str]]) -> Iterable[Terminal]:
    for row in rows:
        r = row._mapping  # type: ignore[attr-defined]
        yield Terminal(
            id=r["id"],
            type=TerminalType(r["type"]),
            active=r["status"] == "ACTIVE",
            secret=r["secret"],
            previous_secret=r["previous_secret"],
            outlet_id=r["outlet_id"],
            outlet_code=r["outlet_code"],
            outlet_kind=OutletKind(r["outlet_kind"]),
            outlet_active=r["outlet_status"] == "ACTIVE",
            channel_id=r["channel_id"],
            float_account=r["float_account"],
            operators=frozenset(operators.get(r["outlet_id"], ())),
        )

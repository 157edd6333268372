"""A utility's early-warning rules and contacts, edited by its staff (audited).

``visible`` is what the editor may see: ``None`` for the platform's own people and
tokens, else the ids of a utility and its branches; another utility's rule is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers import repository as billers_repo
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.warnings.kinds import KINDS, Given, kind_of, parse_params
from utilipay.warnings.tables import warning_contacts, warning_rules

Visible = frozenset[int] | None
CONTACT_KINDS = ("email", "sms")


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    biller_id: int
    kind: str
    params: dict[str, int]
    enabled: bool
    updated_at: datetime
    updated_by: str

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "updated_at": self.updated_at.isoformat()}


def check_visible(visible: Visible, biller_id: int, what: str) -> None:
    if visible is not None and biller_id not in visible:
        raise DomainError(ErrorCode.FORBIDDEN, f"{what} is another utility's")


async def biller_id_of(conn: AsyncConnection, code: str, visible: Visible = None) -> int:
    biller = await billers_repo.by_code(conn, code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    check_visible(visible, biller.id, f"biller {code}")
    return biller.id


async def list_rules(conn: AsyncConnection, billers: Visible) -> list[Rule]:
    query = select(warning_rules).order_by(warning_rules.c.biller_id, warning_rules.c.id)
    if billers is not None:
        query = query.where(warning_rules.c.biller_id.in_(billers))
    return [Rule(**r._mapping) for r in await conn.execute(query)]


async def add_rule(
    conn: AsyncConnection,
    clock: Clock,
    biller_id: int,
    kind: str,
    params: Given,
    *,
    actor: str,
    enabled: bool = True,
) -> Rule:
    full = parse_params(kind, params)
    row = (
        await conn.execute(
            insert(warning_rules)
            .values(biller_id=biller_id, kind=kind, params=full, enabled=enabled,
                    updated_at=clock.now(), updated_by=actor)
            .returning(*warning_rules.c)
        )
    ).one()  # fmt: skip
    rule = Rule(**row._mapping)
    await _audit(conn, clock, actor, "warnings.rule_added", rule, None)
    return rule


async def add_defaults(
    conn: AsyncConnection, clock: Clock, biller_id: int, *, actor: str
) -> list[Rule]:
    """Every kind the utility has no rule of yet, with its default parameters."""
    present = {r.kind for r in await list_rules(conn, frozenset({biller_id}))}
    return [
        await add_rule(conn, clock, biller_id, kind, {}, actor=actor)
        for kind in KINDS
        if kind not in present
    ]


async def update_rule(
    conn: AsyncConnection,
    clock: Clock,
    rule_id: int,
    *,
    params: Given | None = None,
    enabled: bool | None = None,
    actor: str,
    visible: Visible = None,
) -> Rule:
    """Change a rule's parameters (the ones given, over its own) or turn it on or off."""
    before = await _locked(conn, rule_id, visible)
    values: dict[str, object] = {"updated_at": clock.now(), "updated_by": actor}
    if params is not None:
        values["params"] = parse_params(before.kind, {**before.params, **params})
    if enabled is not None:
        values["enabled"] = enabled
    row = (
        await conn.execute(
            update(warning_rules)
            .where(warning_rules.c.biller_id == before.biller_id, warning_rules.c.id == rule_id)
            .values(**values)
            .returning(*warning_rules.c)
        )
    ).one()
    after = Rule(**row._mapping)
    await _audit(conn, clock, actor, "warnings.rule_changed", after, before)
    return after


async def _locked(conn: AsyncConnection, rule_id: int, visible: Visible) -> Rule:
    row = (
        await conn.execute(
            select(warning_rules).where(warning_rules.c.id == rule_id).with_for_update()
        )
    ).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no warning rule {rule_id}")
    rule = Rule(**row._mapping)
    check_visible(visible, rule.biller_id, f"warning rule {rule_id}")
    kind_of(rule.kind)
    return rule


async def _audit(
    conn: AsyncConnection, clock: Clock, actor: str, action: str, rule: Rule, before: Rule | None
) -> None:
    await record(
        conn, clock, actor=actor, action=action, object_type="warning_rule",
        object_id=str(rule.id),
        before=None if before is None else _audited(before), after=_audited(rule),
    )  # fmt: skip


def _audited(rule: Rule) -> dict[str, object]:
    return {"biller_id": rule.biller_id, "kind": rule.kind, "params": rule.params,
            "enabled": rule.enabled}  # fmt: skip


async def contacts(conn: AsyncConnection, biller_id: int) -> list[tuple[str, str]]:
    """Whom the utility's warnings are sent to: (``email`` | ``sms``, address)."""
    return (await contacts_of(conn, [biller_id]))[biller_id]


async def contacts_of(
    conn: AsyncConnection, biller_ids: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """``contacts`` of several utilities in one query (a page listing them all)."""
    query = (
        select(warning_contacts.c.biller_id, warning_contacts.c.kind, warning_contacts.c.address)
        .where(warning_contacts.c.biller_id.in_(biller_ids))
        .order_by(warning_contacts.c.kind, warning_contacts.c.address)
    )
    found: dict[int, list[tuple[str, str]]] = {b: [] for b in biller_ids}
    for r in await conn.execute(query):
        found[r.biller_id].append((r.kind, r.address))
    return found


async def set_contacts(
    conn: AsyncConnection,
    clock: Clock,
    biller_id: int,
    wanted: list[tuple[str, str]],
    *,
    actor: str,
) -> list[tuple[str, str]]:
    """Replace the utility's contacts with ``wanted`` (an empty list: nobody is told)."""
    for kind, address in wanted:
        if kind not in CONTACT_KINDS or not _plausible(kind, address):
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"not a contact: {kind} {address!r}")
    before = await contacts(conn, biller_id)
    await conn.execute(delete(warning_contacts).where(warning_contacts.c.biller_id == biller_id))
    unique = sorted(set(wanted))
    if unique:
        await conn.execute(
            insert(warning_contacts),
            [{"biller_id": biller_id, "kind": k, "address": a} for k, a in unique],
        )
    await record(
        conn, clock, actor=actor, action="warnings.contacts_set", object_type="biller",
        object_id=str(biller_id), before={"contacts": before}, after={"contacts": unique},
    )  # fmt: skip
    return unique


def _plausible(kind: str, address: str) -> bool:
    if kind == "email":
        local, _, domain = address.partition("@")
        return bool(local) and "." in domain and len(address) <= 254 and " " not in address
    return address.lstrip("+").isdigit() and 5 <= len(address) <= 20

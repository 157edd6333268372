"""What settlement is told by people: where each utility is paid, the fee rules and the
outlets' commission."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.channels import repository as channels_repo
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets.schemas import OutletKind
from utilipay.settlement.fees import FeeRule
from utilipay.settlement.tables import (
    biller_fee_rules,
    channel_fee_rules,
    outlet_commission_rules,
    settlement_accounts,
)

_ACCOUNT_NO = re.compile(r"[0-9A-Z]{6,34}")  # a mainland account number or an IBAN


class Mode(StrEnum):
    BRANCHES = "branches"  # 清分到各分公司: each branch to its own account
    GROUP = "group"  # 归集集团总账户: every branch swept to the group's account


class Party(StrEnum):
    BILLER = "biller"  # the hub's service fee, deducted from the utility's settlement
    CHANNEL = "channel"  # what the channel charges the hub: the hub's cost


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


async def biller_id_of(conn: AsyncConnection, code: str) -> int:
    found = await billers_repo.by_code(conn, code)
    if found is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    return found.id


async def _channel_id(conn: AsyncConnection, code: str) -> int:
    found = await channels_repo.by_code(conn, code)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {code}")
    return found.id


def check_account(account_no: str, account_name: str, bank: str) -> None:
    """A bank account people typed, refused with the reason."""
    if not _ACCOUNT_NO.fullmatch(account_no):
        raise _bad(f"account number {account_no!r} must be 6-34 characters of 0-9 and A-Z")
    if not account_name.strip() or not bank.strip():
        raise _bad("the account's name and bank are required")


async def store_account(conn: AsyncConnection, biller_id: int, values: dict[str, object]) -> None:
    await conn.execute(
        insert(settlement_accounts)
        .values(biller_id=biller_id, **values)
        .on_conflict_do_update(index_elements=["biller_id"], set_=values)
    )


async def set_account(
    conn: AsyncConnection,
    clock: Clock,
    biller: str,
    *,
    account_no: str,
    account_name: str,
    bank: str,
    mode: Mode = Mode.BRANCHES,
    actor: str,
) -> None:
    """Where ``biller`` is paid; for a group, also whether its branches are swept to it."""
    check_account(account_no, account_name, bank)
    values = {
        "account_no": account_no,
        "account_name": account_name.strip(),
        "bank": bank.strip(),
        "mode": mode,
        "actor": actor,
        "updated_at": clock.now(),
    }
    await store_account(conn, await biller_id_of(conn, biller), values)
    await audit.record(
        conn, clock, actor=actor, action="settlement.account", object_type="biller",
        object_id=biller, details={k: str(v) for k, v in values.items() if k != "updated_at"},
    )  # fmt: skip


def parse_rate(text: str) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise _bad(f"rate {text!r} must be a number of basis points, e.g. 6 or 2.5") from None
    if not rate.is_finite():
        raise _bad(f"rate {text!r} must be a number of basis points")
    return rate


async def set_fee_rule(
    conn: AsyncConnection,
    clock: Clock,
    party: Party,
    code: str,
    rule: FeeRule,
    *,
    actor: str,
) -> None:
    """The fee rule of a biller or channel from ``rule.effective_from`` on (replacing the
    rule that took effect that same day, if any)."""
    if party is Party.BILLER:
        table, owner = biller_fee_rules, {"biller_id": await biller_id_of(conn, code)}
    else:
        table, owner = channel_fee_rules, {"channel_id": await _channel_id(conn, code)}
    details = await _store_rule(conn, clock, table, owner, rule, actor)
    await audit.record(
        conn, clock, actor=actor, action="settlement.fee", object_type=str(party),
        object_id=code, details=details,
    )  # fmt: skip


async def set_commission_rule(
    conn: AsyncConnection,
    clock: Clock,
    biller: str,
    outlet_kind: OutletKind,
    rule: FeeRule,
    *,
    actor: str,
) -> None:
    """What ``biller`` pays an outlet of ``outlet_kind`` per payment it collects, from
    ``rule.effective_from`` on (replacing the rule that took effect that same day)."""
    owner = {"biller_id": await biller_id_of(conn, biller), "outlet_kind": outlet_kind.value}
    details = await _store_rule(conn, clock, outlet_commission_rules, owner, rule, actor)
    await audit.record(
        conn, clock, actor=actor, action="settlement.commission", object_type="biller",
        object_id=biller, details={**details, "outlet_kind": outlet_kind.value},
    )  # fmt: skip


async def _store_rule(
    conn: AsyncConnection,
    clock: Clock,
    table: Table,
    owner: Mapping[str, object],
    rule: FeeRule,
    actor: str,
) -> dict[str, str]:
    """Upsert a rule keyed by its owner and first day; what the audit log keeps of it."""
    values = {
        "rate_bp": rule.rate_bp,
        "minimum": rule.minimum,
        "maximum": rule.maximum,
        "fixed": rule.fixed,
        "actor": actor,
        "created_at": clock.now(),
    }
    await conn.execute(
        insert(table)
        .values(**owner, effective_from=rule.effective_from, **values)
        .on_conflict_do_update(index_elements=[*owner, "effective_from"], set_=values)
    )
    details = {k: str(v) for k, v in values.items() if k != "created_at"}
    return {**details, "effective_from": str(rule.effective_from)}


def fee_rule(
    effective_from: date,
    rate_bp: str = "0",
    minimum: int = 0,
    maximum: int | None = None,
    fixed: int = 0,
) -> FeeRule:
    """A fee rule from what a person typed, refused with the reason."""
    try:
        return FeeRule(effective_from, parse_rate(rate_bp), minimum, maximum, fixed)
    except ValueError as exc:
        raise _bad(str(exc)) from None

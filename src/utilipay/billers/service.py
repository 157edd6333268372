"""Registering billers (utilities) with the hub."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository
from utilipay.billers.rules import AccountRule
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.clock import Clock
from utilipay.common.validation import check_code
from utilipay.directory import announce_change
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, open_account

_REGION = re.compile(r"([0-9]{6})?")  # GB/T 2260 administrative division code, or none


async def _reload(conn: AsyncConnection, code: str) -> Biller:
    biller = await repository.by_code(conn, code)
    if biller is None:  # we just wrote it in this transaction
        raise RuntimeError(f"biller {code} vanished inside its own transaction")
    return biller


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
    actor: str,
) -> Biller:
    check_code("biller", code)
    if mode is not IntegrationMode.HOSTED:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "only hosted billers can be registered in this version"
        )
    rule = AccountRule.parse(account_rule, account_hint)
    if not _REGION.fullmatch(region):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"region {region!r} must be 6 digits")
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
    await open_account(
        conn, clock, AccountKind.BILLER_PAYABLE, owner_code=code, biller_id=biller_id
    )
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="biller.add",
        object_type="biller",
        object_id=code,
        details={"mode": mode, "category": category, "parent": parent_code, "rule": account_rule},
    )
    await announce_change(conn)
    return await _reload(conn, code)

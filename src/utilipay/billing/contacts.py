"""Where an account holder's messages go: phone (SMS), email, language."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.billers.schemas import IntegrationMode
from utilipay.billing.tables import customer_accounts
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode

LANGUAGES = ("zh-CN", "en")
_PHONE = re.compile(r"\+?[0-9]{6,20}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _checked(phone: str | None, email: str | None, language: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if phone is not None:
        if phone and not _PHONE.fullmatch(phone):
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"phone {phone!r}: 6-20 digits")
        values["phone"] = phone or None
    if email is not None:
        if email and not _EMAIL.fullmatch(email):
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"email {email!r} is not an address")
        values["email"] = email or None
    if language is not None:
        if language not in LANGUAGES:
            raise DomainError(ErrorCode.MALFORMED_REQUEST, f"language must be one of {LANGUAGES}")
        values["language"] = language
    return values


async def set_contacts(
    conn: AsyncConnection,
    clock: Clock,
    biller_code: str,
    account_no: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    language: str | None = None,
    actor: str,
) -> None:
    biller = await billers_repo.by_code(conn, biller_code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller_code}")
    biller.rule.check(biller.code, account_no)
    values = _checked(phone, email, language)
    key = (customer_accounts.c.biller_id == biller.id) & (
        customer_accounts.c.account_no == account_no
    )
    exists = (await conn.execute(select(customer_accounts.c.account_no).where(key))).first()
    if exists is None and biller.mode is IntegrationMode.HOSTED:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, f"{biller_code} has no account {account_no}")
    if exists is None:  # a remote biller's account: the hub stores only its contacts
        await conn.execute(
            insert(customer_accounts).values(
                biller_id=biller.id,
                account_no=account_no,
                holder_name="",
                address="",
                created_at=clock.now(),
                **values,
            )
        )
    elif values:
        await conn.execute(update(customer_accounts).where(key).values(**values))
    await audit.record(
        conn, clock, actor=actor, action="account.contacts", object_type="account",
        object_id=f"{biller_code}/{account_no}", details={"changed": sorted(values)},
    )  # fmt: skip

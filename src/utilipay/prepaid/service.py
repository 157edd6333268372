"""Putting an account on prepaid (智能交费) and reading where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller
from utilipay.billing.tables import customer_accounts
from utilipay.clock import Clock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, open_account
from utilipay.prepaid.rules import Account, State, apply_balance
from utilipay.prepaid.tables import prepaid_accounts


@dataclass(frozen=True, slots=True)
class PrepaidAccount:
    biller_id: int
    account_no: str
    balance: int  # fen
    currency: str
    state: State
    state_since: datetime
    reminder: int  # fen: the account's, or its biller's
    accrued_through: date | None


async def enroll(
    conn: AsyncConnection,
    clock: Clock,
    biller_code: str,
    account_no: str,
    *,
    reminder: int | None = None,
    accrue_from: date | None = None,
    actor: str,
) -> PrepaidAccount:
    """Open a prepaid balance (at zero) for an account; its usage is settled from
    ``accrue_from`` (default: today in Shanghai). Enrolling again changes nothing."""
    biller = await billers_service.hosted_biller(conn, biller_code, "prepaid accounts")
    if reminder is not None and reminder < 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "the reminder amount must not be negative")
    found = await find(conn, biller, account_no)
    if found is not None:
        return found
    key = (customer_accounts.c.biller_id == biller.id) & (
        customer_accounts.c.account_no == account_no
    )
    if (await conn.execute(select(customer_accounts.c.account_no).where(key))).first() is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, f"{biller_code} has no account {account_no}")
    now = clock.now()
    ledger_id = await open_account(
        conn, clock, AccountKind.PREPAID_BALANCE, owner_code=f"{biller.code}:{account_no}",
        biller_id=biller.id,
    )  # fmt: skip
    start = apply_balance(Account(State.NORMAL, 0), 0, _reminder(biller, reminder)).account
    await conn.execute(
        insert(prepaid_accounts).values(
            biller_id=biller.id, account_no=account_no, ledger_account_id=ledger_id, balance=0,
            currency="CNY", state=start.state, state_since=now, episode=start.episode,
            notified=[], cuts=0, reminder=reminder,
            accrue_from=accrue_from or business_date(now), enrolled_at=now,
        )
    )  # fmt: skip
    await audit.record(
        conn, clock, actor=actor, action="prepaid.enroll", object_type="account",
        object_id=f"{biller.code}/{account_no}", details={"reminder": reminder},
    )  # fmt: skip
    enrolled = await find(conn, biller, account_no)
    if enrolled is None:  # inserted above, in this transaction
        raise RuntimeError(f"prepaid account {account_no} vanished")
    return enrolled


def _reminder(biller: Biller, own: int | None) -> int:
    return biller.prepaid_reminder if own is None else own


async def find(conn: AsyncConnection, biller: Biller, account_no: str) -> PrepaidAccount | None:
    row = (
        await conn.execute(
            select(prepaid_accounts).where(
                prepaid_accounts.c.biller_id == biller.id,
                prepaid_accounts.c.account_no == account_no,
            )
        )
    ).first()
    return None if row is None else _account(biller, row._mapping)


def _account(biller: Biller, row: Any) -> PrepaidAccount:
    return PrepaidAccount(
        biller_id=row["biller_id"],
        account_no=row["account_no"],
        balance=row["balance"],
        currency=row["currency"],
        state=State(row["state"]),
        state_since=row["state_since"],
        reminder=_reminder(biller, row["reminder"]),
        accrued_through=row["accrued_through"],
    )

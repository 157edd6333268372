"""Reading a prepaid account for its payers: the balance, the state, the days settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller
from utilipay.billing import repository as billing_repo
from utilipay.bindings.service import verified_binding
from utilipay.channels.schemas import Channel
from utilipay.errors import DomainError, ErrorCode
from utilipay.prepaid.service import PrepaidAccount, find
from utilipay.prepaid.tables import prepaid_accruals


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    usage: Decimal
    posted: int  # fen
    balance_after: int


@dataclass(frozen=True, slots=True)
class PrepaidView:
    account: PrepaidAccount
    holder: str
    days: list[Day]  # newest first


async def view_for_payer(
    conn: AsyncConnection, channel: Channel, payer: str, biller: Biller, account_no: str,
    *, days: int,
) -> PrepaidView:  # fmt: skip
    """The account as ``payer`` may see it: only with a verified binding of it at this
    channel (channel-api.md §13)."""
    if await verified_binding(conn, channel, biller, payer, account_no) is None:
        raise DomainError(
            ErrorCode.FORBIDDEN, f"payer has no binding of {biller.code} account {account_no}"
        )
    account = await find(conn, biller, account_no)
    if account is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{biller.code} account {account_no} is not prepaid")
    customer = await billing_repo.account(conn, biller.id, account_no)
    if customer is None:  # a prepaid account is one of the biller's accounts
        raise RuntimeError(f"prepaid account {account_no} has no customer account")
    rows = await conn.execute(
        select(prepaid_accruals)
        .where(prepaid_accruals.c.biller_id == biller.id,
               prepaid_accruals.c.account_no == account_no)
        .order_by(prepaid_accruals.c.day.desc())
        .limit(days)
    )  # fmt: skip
    settled = [Day(r.day, r.usage, r.posted, r.balance_after) for r in rows]
    return PrepaidView(account, customer.holder_name, settled)

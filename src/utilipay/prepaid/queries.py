"""Reading a prepaid account for its payers: the balance, the state, the days settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, text
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


# This episode's outage warning (an older one is before the account entered its state),
# the meter's last reconnect carried out and the last disconnect decided (the head-end's
# view of its commands).
_SUPPLY = text(
    """
    SELECT CASE WHEN s.outage_warned_at >= s.state_since THEN s.outage_warned_at END AS warned,
           max(c.executed_at) FILTER (WHERE c.action = 'reconnect' AND c.status = 'EXECUTED')
               AS reconnected,
           max(c.decided_at) FILTER (WHERE c.action = 'disconnect') AS disconnected
      FROM prepaid_states s
      LEFT JOIN headend_command_times c
             ON c.biller_id = s.biller_id AND c.account_no = s.account_no
     WHERE s.biller_id = :biller_id AND s.account_no = :account_no
     GROUP BY s.outage_warned_at, s.state_since
    """
)


@dataclass(frozen=True, slots=True)
class SupplyTimes:
    """When the account's supply was last at stake: this episode's outage warning (None:
    none yet), the meter's last reconnect and the last disconnect decided (the head-end's
    commands, ``headend_command_times``)."""

    warned: datetime | None
    reconnected: datetime | None
    disconnected: datetime | None


async def supply_times(conn: AsyncConnection, biller: Biller, account_no: str) -> SupplyTimes:
    """The times of a prepaid account's supply (the account must be prepaid)."""
    keys = {"biller_id": biller.id, "account_no": account_no}
    return SupplyTimes(*(await conn.execute(_SUPPLY, keys)).one())

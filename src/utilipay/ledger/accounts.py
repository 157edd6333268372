"""The chart of accounts: which ledger accounts exist and who owns them.

Amounts in postings are signed: a debit is positive, a credit negative.
- ``CHANNEL_RECEIVABLE`` (asset): what a channel collected from payers and owes the hub.
- ``BILLER_PAYABLE`` (liability): what the hub owes a biller for bills it wrote off and
  for the prepaid usage it settled.
- ``PREPAID_BALANCE`` (liability): one per prepaid account: what its holder has pre-stored
  and not used yet (a credit balance; in arrears, a debit one).
- ``BILLER_SETTLED`` (liability): one per payee: what a settlement moved out of the
  payable of the payee's branches to be paid out (in transit to the utility).
- ``HUB_FEE_INCOME`` (income): one per biller: the hub's service fees deducted from
  its settlements.
- ``REFUND_PAYABLE`` (liability): one per channel: refunds deducted from utilities'
  settlements, owed back to payers through that channel.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Integer, Text, column, insert, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.ledger.tables import ledger_accounts
from utilipay.money import CNY

# The chart as other areas read it (the view ``ledger_chart``, migration 0024): a biller's
# payable, a channel's receivable… by kind and owner.
chart = table(
    "ledger_chart",
    column("id", Integer),
    column("code", Text),
    column("kind", Text),
    column("biller_id", Integer),
    column("channel_id", Integer),
    column("currency", Text),
)


class AccountKind(StrEnum):
    CHANNEL_RECEIVABLE = "CHANNEL_RECEIVABLE"
    BILLER_PAYABLE = "BILLER_PAYABLE"
    PREPAID_BALANCE = "PREPAID_BALANCE"
    BILLER_SETTLED = "BILLER_SETTLED"
    HUB_FEE_INCOME = "HUB_FEE_INCOME"
    REFUND_PAYABLE = "REFUND_PAYABLE"


async def open_account(
    conn: AsyncConnection,
    clock: Clock,
    kind: AccountKind,
    *,
    owner_code: str,
    biller_id: int | None = None,
    channel_id: int | None = None,
) -> int:
    result = await conn.execute(
        insert(ledger_accounts)
        .values(
            code=f"{kind}:{owner_code}:{CNY}",
            kind=kind,
            biller_id=biller_id,
            channel_id=channel_id,
            currency=CNY,
            created_at=clock.now(),
        )
        .returning(ledger_accounts.c.id)
    )
    return int(result.scalar_one())


async def find_or_open(
    conn: AsyncConnection,
    clock: Clock,
    kind: AccountKind,
    *,
    owner_code: str,
    biller_id: int | None = None,
    channel_id: int | None = None,
) -> int:
    """The ledger account of this kind and owner, opened on first use (its id)."""
    found = (
        await conn.execute(
            select(ledger_accounts.c.id).where(
                ledger_accounts.c.kind == kind,
                ledger_accounts.c.biller_id.is_not_distinct_from(biller_id),
                ledger_accounts.c.channel_id.is_not_distinct_from(channel_id),
            )
        )
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return await open_account(
        conn, clock, kind, owner_code=owner_code, biller_id=biller_id, channel_id=channel_id
    )

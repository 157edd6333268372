"""The account plan: which kinds of ledger account there are, who owns each, how its code
is formed, and how accounts are opened and found.

Amounts in postings are signed: a debit is positive, a credit negative.

============================  =========  ==========================  =====================
kind                          nature     one per                     opened when
============================  =========  ==========================  =====================
``CHANNEL_RECEIVABLE``        asset      channel                     the channel is added
``BILLER_PAYABLE``            liability  biller                      the biller is added
``PREPAID_BALANCE``           liability  prepaid account of a biller the account is enrolled
``BILLER_SETTLED``            liability  biller (as a payee)         its first settlement
``HUB_FEE_INCOME``            income     biller                      its first settlement
``REFUND_PAYABLE``            liability  channel                     its first refund settled
``OUTLET_FLOAT``              liability  outlet of an agent channel  the outlet is added
``HUB_BANK``                  asset      the hub (no owner)          the first float deposit
``VOUCHER_LIABILITY``         liability  biller                      its first voucher batch
``VOUCHER_CREDIT``            liability  biller                      its first voucher batch
============================  =========  ==========================  =====================

- ``CHANNEL_RECEIVABLE``: what a channel collected from payers and owes the hub.
- ``BILLER_PAYABLE``: what the hub owes a biller for bills it wrote off and for the prepaid
  usage it settled.
- ``PREPAID_BALANCE``: what an account holder has pre-stored and not used yet (a credit
  balance; in arrears, a debit one).
- ``BILLER_SETTLED``: what a settlement moved out of the payable of the payee's branches to
  be paid out (in transit to the utility).
- ``HUB_FEE_INCOME``: the hub's service fees deducted from a biller's settlements.
- ``REFUND_PAYABLE``: refunds deducted from utilities' settlements, owed back to payers
  through that channel.
- ``OUTLET_FLOAT``: what an outlet's owner has pre-funded (预存款) and not spent on
  payments yet (channel-api.md §11); its channel is the owner in the chart, the outlet
  names it (``outlets.float_account``).
- ``HUB_BANK``: money received in the hub's own bank account (float deposits).
- ``VOUCHER_LIABILITY``: the face value of a utility's vouchers sold and not yet redeemed
  or expired (channel-api.md §12), owed to their holders.
- ``VOUCHER_CREDIT``: what redeemed vouchers left on the utility's postpaid accounts for
  their next bills; ``voucher_credits`` splits it by account.

An account's code is ``KIND:OWNER:CURRENCY``, the owner's code being the biller's or the
channel's, for a prepaid balance the biller's and the account number
(``PREPAID_BALANCE:BJELEC:0100000099:CNY``), for an outlet's float the channel's and the
outlet's (``OUTLET_FLOAT:AGENT1.SHOP-0001:CNY``: an outlet code may hold no colon), and for
the hub's bank ``HUB`` (``HUB_BANK:HUB:CNY``): ``ledger_account_code`` in
``sql/accounts.sql`` forms it, for this module and for set-based SQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Integer, Text, column, func, insert, select, table
from sqlalchemy.dialects.postgresql import insert as upsert
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
    OUTLET_FLOAT = "OUTLET_FLOAT"
    HUB_BANK = "HUB_BANK"
    VOUCHER_LIABILITY = "VOUCHER_LIABILITY"
    VOUCHER_CREDIT = "VOUCHER_CREDIT"


CHANNEL_KINDS = frozenset(
    {AccountKind.CHANNEL_RECEIVABLE, AccountKind.REFUND_PAYABLE, AccountKind.OUTLET_FLOAT}
)
# Kinds an owner has many of, told apart by a second part of the owner's code, and its
# separator: a prepaid balance's account number, an outlet float's outlet code.
SUB_ACCOUNTS = {AccountKind.PREPAID_BALANCE: ":", AccountKind.OUTLET_FLOAT: "."}
HUB = "HUB"  # the owner's code in the hub's own accounts (HUB_BANK), which have no owner


@dataclass(frozen=True, slots=True)
class Owner:
    """A biller or a channel, as the plan knows its owners: by id and code."""

    id: int
    code: str


def _owner_ids(kind: AccountKind, owner: Owner) -> dict[str, int | None]:
    if kind in CHANNEL_KINDS:
        return {"biller_id": None, "channel_id": owner.id}
    return {"biller_id": owner.id, "channel_id": None}


async def open_account(
    conn: AsyncConnection,
    clock: Clock,
    kind: AccountKind,
    owner: Owner,
    *,
    account_no: str | None = None,
) -> int:
    """Open ``owner``'s account of ``kind``; ``account_no`` tells which of its many (a
    prepaid balance: the account number; an outlet float: the outlet's code)."""
    if (kind in SUB_ACCOUNTS) != (account_no is not None):
        raise ValueError(f"a second part of the owner's code goes with {kind} only if it has many")
    owner_code = (
        owner.code if account_no is None else f"{owner.code}{SUB_ACCOUNTS[kind]}{account_no}"
    )
    result = await conn.execute(
        insert(ledger_accounts)
        .values(
            code=func.ledger_account_code(kind.value, owner_code, CNY),
            kind=kind,
            currency=CNY,
            created_at=clock.now(),
            **_owner_ids(kind, owner),
        )
        .returning(ledger_accounts.c.id)
    )
    return int(result.scalar_one())


async def find_or_open(conn: AsyncConnection, clock: Clock, kind: AccountKind, owner: Owner) -> int:
    """``owner``'s one account of ``kind`` (not a prepaid balance), opened on first use."""
    ids = _owner_ids(kind, owner)
    found = await conn.scalar(
        select(func.ledger_account(kind.value, ids["biller_id"], ids["channel_id"]))
    )
    if found is not None:
        return int(found)
    return await open_account(conn, clock, kind, owner)


async def hub_bank(conn: AsyncConnection, clock: Clock) -> int:
    """The hub's own bank account (``HUB_BANK``), opened by its first use; concurrent first
    uses open it once (its code is unique)."""
    code = func.ledger_account_code(AccountKind.HUB_BANK.value, HUB, CNY)
    await conn.execute(
        upsert(ledger_accounts)
        .values(code=code, kind=AccountKind.HUB_BANK, currency=CNY, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["code"])
    )
    found = await conn.scalar(select(func.ledger_account(AccountKind.HUB_BANK.value)))
    return int(found or 0)  # there now: opened above or before

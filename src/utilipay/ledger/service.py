"""Reading the ledger: balances are derived from postings, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.ledger.accounts import AccountKind
from utilipay.ledger.tables import journal_entries, ledger_accounts, postings


@dataclass(frozen=True, slots=True)
class AccountBalance:
    code: str
    kind: str
    owner: str
    currency: str
    balance: int  # debits minus credits, fen


async def balances(conn: AsyncConnection) -> list[AccountBalance]:
    """Every account's balance; a biller's prepaid balances (one per customer account, a
    million of them at a large utility) are summed into one line."""
    totals = (
        select(postings.c.account_id, func.sum(postings.c.amount).label("balance"))
        .group_by(postings.c.account_id)
        .subquery()
    )
    # An account's code is KIND:OWNER:…: the owner's code is there, without a join to
    # the tables of the areas that own billers and channels.
    owner = func.split_part(ledger_accounts.c.code, ":", 2)
    kind, currency = ledger_accounts.c.kind, ledger_accounts.c.currency
    pooled = kind == AccountKind.PREPAID_BALANCE
    code = case(
        (pooled, func.concat(kind, ":", owner, ":*:", currency)), else_=ledger_accounts.c.code
    )
    rows = await conn.execute(
        select(
            code.label("code"),
            ledger_accounts.c.kind,
            owner.label("owner"),
            ledger_accounts.c.currency,
            func.coalesce(func.sum(totals.c.balance), 0).label("balance"),
        )
        .select_from(ledger_accounts)
        .outerjoin(totals, totals.c.account_id == ledger_accounts.c.id)
        .group_by(code, ledger_accounts.c.kind, owner, ledger_accounts.c.currency)
        .order_by(ledger_accounts.c.kind, owner)
    )
    return [AccountBalance(r.code, r.kind, r.owner, r.currency, int(r.balance)) for r in rows]


@dataclass(frozen=True, slots=True)
class Posting:
    account: str  # its code, KIND:OWNER:CURRENCY
    amount: int  # fen: a debit positive, a credit negative
    currency: str


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: str
    memo: str
    created_at: datetime
    postings: list[Posting]


async def entries_for_payment(
    conn: AsyncConnection, biller_id: int, payment_id: str
) -> list[Entry]:
    """A payment's journal entries, oldest first, each with its postings in line order."""
    e, p = journal_entries.c, postings.c
    rows = await conn.execute(
        select(e.id, e.kind, e.memo, e.created_at, ledger_accounts.c.code, p.amount, p.currency)
        .select_from(journal_entries)
        .join(postings, (p.biller_id == e.biller_id) & (p.entry_id == e.id))
        .join(ledger_accounts, ledger_accounts.c.id == p.account_id)
        .where(e.biller_id == biller_id, e.payment_id == payment_id)
        .order_by(e.created_at, e.id, p.line_no)
    )
    entries: dict[int, Entry] = {}
    for r in rows:
        entry = entries.setdefault(r.id, Entry(r.id, r.kind, r.memo, r.created_at, []))
        entry.postings.append(Posting(r.code, r.amount, r.currency))
    return list(entries.values())

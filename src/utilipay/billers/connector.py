"""How the hub reaches a biller's books: what an account owes, who holds it.

A hosted biller's books are the hub's own tables; a remote biller answers over
the biller protocol. Either way callers see an ``AccountBills``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import Biller
from utilipay.billing import repository as billing_repo
from utilipay.billing.schemas import Bill
from utilipay.common.masking import mask_name
from utilipay.errors import DomainError, ErrorCode


@dataclass(frozen=True, slots=True)
class AccountBills:
    account_no: str
    holder: str  # masked
    bills: tuple[Bill, ...]

    @property
    def total(self) -> int:
        return sum(b.total for b in self.bills)


class BillerConnector(Protocol):
    async def query(self, conn: AsyncConnection, biller: Biller, account_no: str) -> AccountBills:
        """The account's outstanding bills; ACCOUNT_NOT_FOUND if the biller has no such account."""
        ...


class HostedConnector:
    async def query(self, conn: AsyncConnection, biller: Biller, account_no: str) -> AccountBills:
        account = await billing_repo.account(conn, biller.id, account_no)
        if account is None:
            raise DomainError(
                ErrorCode.ACCOUNT_NOT_FOUND, f"biller {biller.code} has no account {account_no}"
            )
        bills = await billing_repo.unpaid_bills(conn, biller.id, account_no)
        return AccountBills(account_no, mask_name(account.holder_name), tuple(bills))

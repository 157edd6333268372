"""How the hub reads a biller's books: what an account owes, who holds it.

A hosted biller's books are the hub's own tables; a remote biller answers over
the biller protocol. Either way callers see an ``AccountBills``. Bills that a
live hub payment already holds (claimed, being written off) are left out, so a
payer is not shown a bill that is being paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers.calls import log_call
from utilipay.billers.lookup import BillerHost
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import BillItem, QueryAnswer, QueryRequest
from utilipay.billers.remote import BillerUnreachable, RemoteBillers
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.billing import repository as billing_repo
from utilipay.billing.schemas import Bill
from utilipay.claims.service import claimed_bill_nos
from utilipay.clock import Clock, business_date
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
    async def query(self, engine: AsyncEngine, biller: Biller, account_no: str) -> AccountBills:
        """The account's outstanding bills; ACCOUNT_NOT_FOUND if the biller has no such account.

        Takes the engine, not a transaction: a remote biller's answer can take seconds,
        and no database connection is held while waiting for it."""
        ...


class HostedConnector:
    """The hub's own tables; each bill's late fee is the one due today (Asia/Shanghai)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def query(self, engine: AsyncEngine, biller: Biller, account_no: str) -> AccountBills:
        today = business_date(self._clock.now())
        async with engine.connect() as conn:
            account = await billing_repo.account(conn, biller.id, account_no)
            bills = await billing_repo.unpaid_bills(conn, biller.id, account_no, today)
        if account is None:
            raise DomainError(
                ErrorCode.ACCOUNT_NOT_FOUND, f"biller {biller.code} has no account {account_no}"
            )
        return AccountBills(account_no, mask_name(account.holder_name), tuple(bills))


def _bill(account_no: str, item: BillItem) -> Bill:
    return Bill(
        bill_no=item.billno,
        account_no=account_no,
        period=f"{item.period[:4]}-{item.period[4:]}",
        amount=item.amount,
        late_fee=item.latefee,
        due_date=item.duedate,
    )


class RemoteConnector:
    """Asks the biller live (``query``); a read may answer 503 when the biller is down."""

    def __init__(self, billers: RemoteBillers) -> None:
        self._billers = billers

    async def query(self, engine: AsyncEngine, biller: Biller, account_no: str) -> AccountBills:
        unavailable = DomainError(
            ErrorCode.BILLER_UNAVAILABLE, f"biller {biller.code} did not answer; try again later"
        )
        try:
            answer = await self._billers.get(biller).call(QueryRequest(account_no))
        except BillerUnreachable as exc:
            async with engine.begin() as conn:
                await log_call(conn, biller.id, exc.record)
            raise unavailable from None
        async with engine.begin() as conn:
            await log_call(conn, biller.id, answer.record)
            body = answer.message.body
            listed = [b.billno for b in body.bills] if isinstance(body, QueryAnswer) else []
            claimed = await claimed_bill_nos(conn, biller.id, listed)
        code = answer.message.head.code
        if code is Code.ACCOUNT_NOT_FOUND:
            raise DomainError(
                ErrorCode.ACCOUNT_NOT_FOUND, f"biller {biller.code} has no account {account_no}"
            )
        if code is Code.NOTHING_DUE:
            return AccountBills(account_no, "", ())
        if code is not Code.OK or not isinstance(body, QueryAnswer):
            raise unavailable
        bills = tuple(_bill(account_no, b) for b in body.bills if b.billno not in claimed)
        return AccountBills(account_no, body.name, bills)


class AccountsHost(BillerHost, Protocol):
    """What reading an account's bills over HTTP needs of the running hub."""

    @property
    def connectors(self) -> Connectors: ...


class Connectors:
    """The connector for each integration mode."""

    def __init__(self, remote: RemoteBillers, clock: Clock) -> None:
        self._by_mode: dict[IntegrationMode, BillerConnector] = {
            IntegrationMode.HOSTED: HostedConnector(clock),
            IntegrationMode.REMOTE: RemoteConnector(remote),
        }

    def for_biller(self, biller: Biller) -> BillerConnector:
        return self._by_mode[biller.mode]

    def for_mode(self, mode: IntegrationMode) -> BillerConnector:
        return self._by_mode[mode]

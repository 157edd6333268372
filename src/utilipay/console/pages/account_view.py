"""What the console shows of one account, or of one payer at every channel: read through
the areas' own functions (the accounts area's connector for the bills, hosted or asked of
a remote utility), shared by the accounts page and the payer look-up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.accounts.connector import AccountBills, AccountsHost
from utilipay.autopay import mandates as autopay
from utilipay.autopay.schemas import Mandate
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.billing.schemas import Bill
from utilipay.bindings.reminders import ReminderChoice
from utilipay.bindings.schemas import Binding
from utilipay.bindings.service import live_bindings
from utilipay.channels import repository as channels
from utilipay.clock import business_date
from utilipay.db.owners import Owner
from utilipay.errors import DomainError
from utilipay.notify import choices
from utilipay.notify.queries import RECEIPTS, messages_for
from utilipay.notify.schemas import Notification
from utilipay.notify.settings import get_notify_settings
from utilipay.payments import repository as payments
from utilipay.payments.schemas import StoredPayment
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.service import PrepaidAccount
from utilipay.readings import repository as readings
from utilipay.staff.roles import Staff

USAGE_DAYS = 30  # the chart's days, up to yesterday


@dataclass(frozen=True, slots=True)
class UsageDay:
    day: date
    by_register: dict[str, Decimal]
    estimated: bool


@dataclass(frozen=True, slots=True)
class Usage:
    registers: list[str]
    days: list[UsageDay]

    def chart(self) -> dict[str, object]:
        """The figures of the chart (numbers as text: Decimal is not JSON)."""
        return {
            "labels": [d.day.isoformat() for d in self.days],
            "datasets": [
                {"label": r, "data": [str(d.by_register.get(r, 0)) for d in self.days]}
                for r in self.registers
            ],
        }


@dataclass(slots=True)
class Related:
    """What the payments, auto-pay, bindings and messages hold of a payer or an account."""

    channels: dict[int, str] = field(default_factory=dict)  # id → code
    bindings: list[tuple[int, Binding]] = field(default_factory=list)
    mandates: list[Mandate] = field(default_factory=list)
    payments: list[StoredPayment] = field(default_factory=list)
    messages: list[Notification] = field(default_factory=list)
    receipts: frozenset[str] = RECEIPTS


@dataclass(frozen=True, slots=True)
class Reminders:
    """The account's own reminder choice, the one in force, the utility's overdue days."""

    chosen: ReminderChoice
    in_force: ReminderChoice
    overdue_days: tuple[int, ...]


@dataclass(slots=True)
class AccountView:
    biller: Biller
    account_no: str
    holder: str
    bills: tuple[Bill, ...]
    bills_error: str
    prepaid: PrepaidAccount | None
    usage: Usage
    reminders: Reminders | None  # a hosted account's: the hub reminds of its bills


async def related(conn: AsyncConnection, hub: AccountsHost, staff: Staff, owner: Owner) -> Related:
    """The rows of ``owner``, only of the utilities ``staff`` may see."""

    found = Related(channels={c.id: c.code for c in await channels.all_channels(conn)})
    found.bindings = [
        (c, b)
        for c, b in await live_bindings(conn, hub.biller_code, owner)
        if staff.may_see(_biller_id(hub, b.biller))
    ]
    found.mandates = [m for m in await autopay.listed(conn, owner) if staff.may_see(m.biller_id)]
    found.payments = [p for p in await payments.listed(conn, owner) if staff.may_see(p.biller_id)]
    messages = await messages_for(
        conn, payer=owner.payer, biller_id=owner.biller_id, account_no=owner.account_no
    )
    found.messages = [m for m in messages if staff.may_see(m.biller_id)]
    return found


async def reminders(conn: AsyncConnection, biller: Biller, account_no: str) -> Reminders | None:
    if biller.mode is not IntegrationMode.HOSTED:
        return None
    hub_days = get_notify_settings().remind_days_before
    return Reminders(
        chosen=await choices.account_choice(conn, biller.id, account_no),
        in_force=(await choices.in_force(conn, biller.id, account_no, hub_days)).account,
        overdue_days=(await choices.utility_defaults(conn, biller.id)).overdue_days,
    )


def _biller_id(hub: AccountsHost, code: str) -> int | None:
    biller = hub.biller(code)
    return None if biller is None else biller.id


async def usage(conn: AsyncConnection, hub: AccountsHost, biller: Biller, account_no: str) -> Usage:
    last = business_date(hub.clock.now()) - timedelta(days=1)
    rows = await readings.daily_rows(
        conn, biller.id, account_no, last - timedelta(days=USAGE_DAYS - 1), last
    )
    days: dict[date, dict[str, Decimal]] = defaultdict(dict)
    estimated: set[date] = set()
    for day, register, quantity, guessed in rows:
        days[day][register] = quantity
        if guessed:
            estimated.add(day)
    registers = sorted({r for _, r, _, _ in rows})
    return Usage(registers, [UsageDay(d, days[d], d in estimated) for d in sorted(days)])


async def account_view(hub: AccountsHost, biller: Biller, account_no: str) -> AccountView:
    """The account's bills (asked before any transaction: a remote utility can take
    seconds), then its prepaid state and usage."""
    bills_error = ""
    try:
        answer = await hub.connectors.for_biller(biller).query(hub.engine, biller, account_no)
    except DomainError as exc:
        bills_error, answer = exc.detail, AccountBills(account_no, "", ())
    async with hub.engine.connect() as conn:
        return AccountView(
            biller=biller,
            account_no=account_no,
            holder=answer.holder,
            bills=answer.bills,
            bills_error=bills_error,
            prepaid=await prepaid.find(conn, biller, account_no),
            usage=await usage(conn, hub, biller, account_no),
            reminders=await reminders(conn, biller, account_no),
        )

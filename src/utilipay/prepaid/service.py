"""Putting an account on prepaid (智能交费) and reading where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.clock import Clock, business_date, day_bounds
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, Owner, open_account
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
    ``accrue_from`` (default: today in Shanghai). The account needs a tariff for its
    customer class on that day and a meter in service (or its usage could be neither
    measured nor priced). Enrolling again changes nothing."""
    biller = await billers_service.hosted_biller(conn, biller_code, "prepaid accounts")
    if reminder is not None:
        _check_reminder(reminder)
    found = await find(conn, biller, account_no)
    if found is not None:
        return found
    now = clock.now()
    first_day = accrue_from or business_date(now)
    await _check_ready(conn, biller, account_no, first_day)
    ledger_id = await open_account(
        conn, clock, AccountKind.PREPAID_BALANCE, Owner(biller.id, biller.code),
        account_no=account_no,
    )  # fmt: skip
    start = apply_balance(Account(State.NORMAL, 0), 0, _reminder(biller, reminder)).account
    await conn.execute(
        insert(prepaid_accounts).values(
            biller_id=biller.id, account_no=account_no, ledger_account_id=ledger_id, balance=0,
            currency="CNY", state=start.state, state_since=now, episode=start.episode,
            notified=[], cuts=0, reminder=reminder,
            accrue_from=first_day, enrolled_at=now,
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


_READINESS = text(
    """
    SELECT a.customer_class,
           tariff_version_for(a.biller_id, a.customer_class, :day) IS NOT NULL AS priced,
           EXISTS (SELECT 1 FROM readings_meters m
                    WHERE m.biller_id = a.biller_id AND m.account_no = a.account_no
                      AND m.installed_at < :day_end
                      AND (m.removed_at IS NULL OR m.removed_at > :day_start)) AS metered
      FROM billing_accounts a
     WHERE a.biller_id = :biller_id AND a.account_no = :account_no
    """
)


class _Readiness(NamedTuple):
    customer_class: str
    priced: bool  # a tariff for the class on the day
    metered: bool  # a meter in service on the day


async def _readiness(
    conn: AsyncConnection, biller: Biller, account_no: str, day: date
) -> _Readiness | None:
    """The account's class, and whether a tariff prices it and a meter measures it on
    ``day`` (None: no such account)."""
    day_start, day_end = day_bounds(day)
    values = {"biller_id": biller.id, "account_no": account_no, "day": day,
              "day_start": day_start, "day_end": day_end}  # fmt: skip
    found = (await conn.execute(_READINESS, values)).first()
    return None if found is None else _Readiness(*found)


async def _check_ready(conn: AsyncConnection, biller: Biller, account_no: str, day: date) -> None:
    """A prepaid account is priced by a tariff and measured by a meter from its first day."""
    found = await _readiness(conn, biller, account_no, day)
    if found is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, f"{biller.code} has no account {account_no}")
    if not found.priced:
        raise DomainError(
            ErrorCode.TARIFF_REQUIRED,
            f"{biller.code} has no tariff for its {found.customer_class} customers on {day}: "
            f"assign one first (utilipay tariffs assign {biller.code} --tariff … --from …)",
        )
    if not found.metered:
        raise DomainError(
            ErrorCode.METER_REQUIRED,
            f"account {account_no} of {biller.code} has no meter in service on {day}: "
            "register its meter first (utilipay readings import a meters CSV)",
        )


async def can_enroll(conn: AsyncConnection, biller: Biller, account_no: str, day: date) -> bool:
    """Whether the account could be enrolled on ``day`` (priced and metered), so that a
    payer is offered smart payment only where signing up can succeed."""
    if biller.mode is not IntegrationMode.HOSTED:
        return False
    found = await _readiness(conn, biller, account_no, day)
    return found is not None and found.priced and found.metered


def _check_reminder(reminder: int) -> None:
    if reminder < 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "the reminder amount must not be negative")


async def set_reminder(
    conn: AsyncConnection, clock: Clock, biller: Biller, account_no: str, reminder: int,
    *, actor: str,
) -> PrepaidAccount:  # fmt: skip
    """The account's own reminder amount (提醒金额). The balance is judged against it at once,
    not at the next charge: a payer who raises it above the balance is LOW now, and an
    automatic top-up follows; no warning is sent for a threshold the payer just chose."""
    _check_reminder(reminder)
    locked = select(prepaid_accounts).where(
        prepaid_accounts.c.biller_id == biller.id, prepaid_accounts.c.account_no == account_no
    )
    row = (await conn.execute(locked.with_for_update())).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{biller.code} account {account_no} is not prepaid")
    if row.reminder != reminder:
        before = Account(State(row.state), row.balance, row.episode,
                         frozenset(State(n) for n in row.notified), row.cuts)  # fmt: skip
        after = apply_balance(before, 0, reminder).account
        await conn.execute(
            update(prepaid_accounts)
            .where(prepaid_accounts.c.biller_id == biller.id,
                   prepaid_accounts.c.account_no == account_no)
            .values(reminder=reminder, state=after.state, episode=after.episode,
                    notified=sorted(after.notified),
                    state_since=row.state_since if after.state is before.state else clock.now())
        )  # fmt: skip
        await audit.record(
            conn, clock, actor=actor, action="prepaid.reminder_changed", object_type="account",
            object_id=f"{biller.code}/{account_no}",
            before={"reminder": row.reminder}, after={"reminder": reminder},
        )  # fmt: skip
    changed = await find(conn, biller, account_no)
    if changed is None:  # locked above, in this transaction
        raise RuntimeError(f"prepaid account {account_no} vanished")
    return changed


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


async def supply_state(conn: AsyncConnection, biller_id: int, account_no: str) -> Any | None:
    """An account's ``state`` and ``cuts``, locked until the transaction ends (a head-end
    command is decided on them), or None when the account is not prepaid."""
    query = (
        select(prepaid_accounts.c.state, prepaid_accounts.c.cuts)
        .where(
            prepaid_accounts.c.biller_id == biller_id,
            prepaid_accounts.c.account_no == account_no,
        )
        .with_for_update()
    )
    return (await conn.execute(query)).first()


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

"""The reminders chosen for an account and a utility's defaults, and which one is in force
for whom: a binding's own choice, else the account's, else the utility's, else the hub's
(every kind, every means, ``UTILIPAY_REMIND_DAYS_BEFORE`` days), field by field
(``bindings.reminders``).

Who is told by which choice: a bound payer's channel message by the binding's choice in
force; the account's SMS and e-mail (the only phone and address the hub knows) when the
account's choice in force, or a binding's, names that means for this reminder. Every
change is audited with who made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers.schemas import Biller
from utilipay.bindings.reminders import KINDS, MEANS, Kind, ReminderChoice, choice_of
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.notify.recipients import Recipient
from utilipay.notify.tables import reminder_choices, reminder_defaults

MAX_OVERDUE_DAY = 365

_BOUND = text(
    """
    SELECT channel_id, payer, remind_kinds, remind_days_before, remind_means
      FROM bindings_live WHERE biller_id = :biller_id AND account_no = :account_no
    """
)


def hub_default(days_before: int) -> ReminderChoice:
    """Past every choice: every kind, every means, the hub's number of days."""
    return ReminderChoice(kinds=list(KINDS), days_before=days_before, means=list(MEANS))


@dataclass(frozen=True, slots=True)
class Defaults:
    """A utility's: its default choice and its overdue schedule (days after the due date)."""

    choice: ReminderChoice = field(default_factory=ReminderChoice)
    overdue_days: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class InForce:
    """The choice in force for an account's holder and for each payer bound to it."""

    account: ReminderChoice
    bindings: dict[tuple[int, str], ReminderChoice]  # (channel id, payer) → choice

    def wanted(
        self, recipients: Sequence[Recipient], kind: Kind, days_left: int | None
    ) -> list[Recipient]:
        """The recipients this reminder goes to (``days_left``: a due-soon reminder's)."""
        everyone = [self.account, *self.bindings.values()]
        found = []
        for r in recipients:
            if r.kind == "channel":
                choices = [self.bindings.get((r.channel_id or 0, r.address), self.account)]
            else:
                choices = everyone
            if any(wants(c, kind, days_left, r.kind) for c in choices):
                found.append(r)
        return found


def wants(choice: ReminderChoice, kind: Kind, days_left: int | None, means: str) -> bool:
    return (
        kind in (choice.kinds or ())
        and means in (choice.means or ())
        and (days_left is None or choice.days_before == days_left)
    )


async def account_choice(
    conn: AsyncConnection, biller_id: int, account_no: str, *, hold: bool = False
) -> ReminderChoice:
    query = select(reminder_choices).where(
        reminder_choices.c.biller_id == biller_id, reminder_choices.c.account_no == account_no
    )
    row = (await conn.execute(query.with_for_update() if hold else query)).first()
    return ReminderChoice() if row is None else choice_of(row.kinds, row.days_before, row.means)


async def utility_defaults(conn: AsyncConnection, biller_id: int) -> Defaults:
    row = (
        await conn.execute(
            select(reminder_defaults).where(reminder_defaults.c.biller_id == biller_id)
        )
    ).first()
    if row is None:
        return Defaults()
    return Defaults(choice_of(row.kinds, row.days_before, row.means), tuple(row.overdue_days))


async def in_force(
    conn: AsyncConnection, biller_id: int, account_no: str, hub_days_before: int
) -> InForce:
    utility = (await utility_defaults(conn, biller_id)).choice.over(hub_default(hub_days_before))
    account = (await account_choice(conn, biller_id, account_no)).over(utility)
    rows = await conn.execute(_BOUND, {"biller_id": biller_id, "account_no": account_no})
    bound = {
        (r.channel_id, r.payer): choice_of(
            r.remind_kinds, r.remind_days_before, r.remind_means
        ).over(account)
        for r in rows
    }
    return InForce(account, bound)


async def change_account_choice(
    conn: AsyncConnection,
    clock: Clock,
    biller: Biller,
    account_no: str,
    patch: ReminderChoice,
    *,
    actor: str,
    reason: str = "",
) -> ReminderChoice:
    """Replace the fields the patch names (a None one: the utility's again)."""
    biller.rule.check(biller.code, account_no)
    # the row made (inheriting everything, as no row does) and held before it is read: two
    # people changing different fields at once would otherwise each write back the other's
    # field as it was before, and one change would be lost
    key = {"biller_id": biller.id, "account_no": account_no}
    await conn.execute(
        insert(reminder_choices).values(**key, updated_at=clock.now()).on_conflict_do_nothing()
    )
    before = await account_choice(conn, biller.id, account_no, hold=True)
    after = before.changed(patch)
    await conn.execute(
        update(reminder_choices)
        .where(reminder_choices.c.biller_id == biller.id,
               reminder_choices.c.account_no == account_no)
        .values(kinds=after.kinds, days_before=after.days_before, means=after.means,
                updated_at=clock.now())
    )  # fmt: skip
    await record(
        conn, clock, actor=actor, action="reminders.account_changed", object_type="account",
        object_id=f"{biller.code}/{account_no}", reason=reason,
        before=dict(before.as_json()), after=dict(after.as_json()),
    )  # fmt: skip
    return after


def overdue_schedule(days: Sequence[int]) -> tuple[int, ...]:
    """The days after the due date, each once, in order; 400 if one is out of range."""
    if any(not 0 < d <= MAX_OVERDUE_DAY for d in days):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"overdue days must be between 1 and {MAX_OVERDUE_DAY}, got {list(days)}",
        )
    return tuple(sorted(set(days)))


async def change_utility_defaults(
    conn: AsyncConnection,
    clock: Clock,
    biller: Biller,
    patch: ReminderChoice,
    overdue_days: Sequence[int] | None,
    *,
    actor: str,
    reason: str = "",
) -> Defaults:
    before = await utility_defaults(conn, biller.id)
    after = Defaults(
        before.choice.changed(patch),
        before.overdue_days if overdue_days is None else overdue_schedule(overdue_days),
    )
    values = {
        "kinds": after.choice.kinds,
        "days_before": after.choice.days_before,
        "means": after.choice.means,
        "overdue_days": list(after.overdue_days),
    }
    await conn.execute(
        insert(reminder_defaults)
        .values(biller_id=biller.id, updated_at=clock.now(), **values)
        .on_conflict_do_update(
            index_elements=["biller_id"], set_={**values, "updated_at": clock.now()}
        )
    )
    await record(
        conn, clock, actor=actor, action="reminders.defaults_changed", object_type="biller",
        object_id=biller.code, reason=reason,
        before=_defaults_json(before), after=_defaults_json(after),
    )  # fmt: skip
    return after


def _defaults_json(defaults: Defaults) -> dict[str, object]:
    return {**defaults.choice.as_json(), "overdue_days": list(defaults.overdue_days)}

"""A payer's choice of reminders (提醒设置): which (the bill issued, due soon, overdue), how
many days before the due date, by which means (a message through the channel, SMS,
e-mail).

The same shape is chosen at three places, the nearest one in force field by field: a
binding (the payer at a channel, here), the account (notify's ``reminder_choices``), the
utility's default (notify's ``reminder_defaults``); past them the hub's
(``UTILIPAY_REMIND_DAYS_BEFORE``, every kind, every means). A field left out (None) is
the next place's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers.schemas import CodeOfBiller
from utilipay.bindings.schemas import Binding
from utilipay.bindings.service import binding_of, channel_binding
from utilipay.bindings.tables import bindings
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock

Kind = Literal["issued", "due_soon", "overdue"]
Means = Literal["channel", "sms", "email"]
KINDS: Final[tuple[Kind, ...]] = ("issued", "due_soon", "overdue")
MEANS: Final[tuple[Means, ...]] = ("channel", "sms", "email")
MAX_DAYS_BEFORE: Final = 30


class ChoiceJson(TypedDict):
    kinds: list[Kind] | None
    days_before: int | None
    means: list[Means] | None


class ReminderChoice(BaseModel):
    """Each field None: the next place's. An empty list is a choice: none at all."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    kinds: list[Kind] | None = None
    days_before: Annotated[int | None, Field(ge=0, le=MAX_DAYS_BEFORE)] = None
    means: list[Means] | None = None

    @field_validator("kinds", "means")
    @classmethod
    def _each_once(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each value may be given once")
        return value

    def over(self, base: ReminderChoice) -> ReminderChoice:
        """This choice where it says something, ``base`` where it does not."""
        return ReminderChoice(
            kinds=base.kinds if self.kinds is None else self.kinds,
            days_before=base.days_before if self.days_before is None else self.days_before,
            means=base.means if self.means is None else self.means,
        )

    def changed(self, patch: ReminderChoice) -> ReminderChoice:
        """This choice with the fields ``patch`` names replaced (a None one: inherited)."""
        return self.model_copy(update={f: getattr(patch, f) for f in patch.model_fields_set})

    def as_json(self) -> ChoiceJson:
        return {"kinds": self.kinds, "days_before": self.days_before, "means": self.means}


class RemindersRequest(BaseModel):
    """``PATCH /v1/bindings/{id}`` (channel-api.md §4, hub extension)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    reminders: ReminderChoice


def choice_of(
    kinds: Sequence[str] | None, days_before: int | None, means: Sequence[str] | None
) -> ReminderChoice:
    """From the three columns of a stored choice."""
    return ReminderChoice.model_validate(
        {
            "kinds": None if kinds is None else list(kinds),
            "days_before": days_before,
            "means": None if means is None else list(means),
        }
    )


async def _held(
    conn: AsyncConnection, channel: Channel, binding_id: str, biller_code: CodeOfBiller, hold: bool
) -> tuple[int, Binding, ReminderChoice]:
    row = await channel_binding(conn, channel, binding_id, hold=hold)
    binding = binding_of(row, biller_code(row.biller_id))
    choice = choice_of(row.remind_kinds, row.remind_days_before, row.remind_means)
    return row.biller_id, binding, choice


async def binding_choice(
    conn: AsyncConnection, channel: Channel, binding_id: str, biller_code: CodeOfBiller
) -> tuple[Binding, ReminderChoice]:
    """The binding and its own choice; 404 unknown or deleted, 403 another channel's."""
    _, binding, choice = await _held(conn, channel, binding_id, biller_code, hold=False)
    return binding, choice


async def change_binding_choice(
    conn: AsyncConnection,
    clock: Clock,
    channel: Channel,
    binding_id: str,
    patch: ReminderChoice,
    biller_code: CodeOfBiller,
) -> tuple[Binding, ReminderChoice]:
    """Replace the fields the patch names; audited as the channel's act for its payer."""
    biller_id, binding, before = await _held(conn, channel, binding_id, biller_code, hold=True)
    after = before.changed(patch)
    await conn.execute(
        update(bindings)
        .where(bindings.c.biller_id == biller_id, bindings.c.id == binding_id)
        .values(
            remind_kinds=after.kinds,
            remind_days_before=after.days_before,
            remind_means=after.means,
        )
    )
    await record(
        conn, clock, actor=f"channel:{channel.code}", action="binding.reminders_changed",
        object_type="binding", object_id=binding_id,
        before=dict(before.as_json()), after=dict(after.as_json()),
    )  # fmt: skip
    return binding, after

"""The choice in force is resolved twice: in SQL by the reminder passes (``wanted`` in
``notify/reminders.py``, for a million bills at once) and in Python by ``in_force`` (for
the messages and the pages that show it). On random choices at the utility, the account
and its bindings, both say the same of whether a reminder is wanted."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.helpers import ACCOUNT
from utilipay.bindings.reminders import KINDS, ReminderChoice
from utilipay.clock import FrozenClock
from utilipay.notify.choices import change_account_choice, change_utility_defaults, in_force
from utilipay.notify.reminders import SETTINGS, wanted

HUB_DAYS = 3
choices = st.builds(
    ReminderChoice,
    kinds=st.one_of(st.none(), st.lists(st.sampled_from(KINDS), unique=True)),
    days_before=st.one_of(st.none(), st.integers(0, 2)),
)


def _asked(kind: str, on_days_left: bool) -> str:
    return f"""
        WITH {SETTINGS},
        c AS (SELECT CAST(:biller_id AS integer) AS biller_id,
                     CAST(:account_no AS text) AS account_no,
                     CAST(:days_left AS integer) AS days_left)
        SELECT {wanted(kind, on_days_left=on_days_left)}
          FROM c JOIN settings s USING (biller_id)
          LEFT JOIN reminder_choices ac
            ON ac.biller_id = c.biller_id AND ac.account_no = c.account_no"""


# ``world`` is committed once; each example's choices and bindings are rolled back
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    utility=choices,
    account=st.one_of(st.none(), choices),
    bound=st.lists(choices, max_size=2),
    kind=st.sampled_from(KINDS),
    days_left=st.one_of(st.none(), st.integers(0, 2)),
)
async def test_sql_and_python_want_the_same_reminders(
    engine: AsyncEngine,
    clock: FrozenClock,
    world: dict[str, object],
    utility: ReminderChoice,
    account: ReminderChoice | None,
    bound: list[ReminderChoice],
    kind: str,
    days_left: int | None,
) -> None:
    biller = water(world)
    async with engine.connect() as conn:
        await conn.begin()
        try:
            await change_utility_defaults(conn, clock, biller, utility, None, actor="t")
            if account is not None:
                await change_account_choice(conn, clock, biller, ACCOUNT, account, actor="t")
            for n, choice in enumerate(bound):
                await conn.execute(
                    text(
                        "INSERT INTO bindings (biller_id, id, channel_id, payer, account_no,"
                        " holder, created_at, remind_kinds, remind_days_before)"
                        " VALUES (:b, :id, :c, :payer, :a, '张*', now(), :k, :d)"
                    ),
                    {"b": biller.id, "id": f"BD{n}", "c": channel(world, "wechat").id,
                     "payer": f"wx-{n}", "a": ACCOUNT, "k": choice.kinds,
                     "d": choice.days_before},
                )  # fmt: skip
            values: dict[str, Any] = {
                "biller_id": biller.id, "account_no": ACCOUNT, "days_left": days_left,
                "hub_days": HUB_DAYS,
            }  # fmt: skip
            in_sql = await conn.scalar(text(_asked(kind, days_left is not None)), values)
            resolved = await in_force(conn, biller.id, ACCOUNT, HUB_DAYS)
            in_python = any(
                kind in (c.kinds or ()) and (days_left is None or c.days_before == days_left)
                for c in [resolved.account, *resolved.bindings.values()]
            )
            assert in_sql is in_python
        finally:
            await conn.rollback()

"""Two workers' passes over the same due messages share them: each is handed to its
provider once, by one of them, and recorded once (issue 15: the senders' shape)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.shared_passes import assert_recorded_once, assert_shared, beside_a_locker
from utilipay.clock import FrozenClock
from utilipay.notify.delivery import deliver_due_notifications
from utilipay.notify.providers.base import Outcome
from utilipay.notify.schemas import Notification

MESSAGES = 240
_QUEUE = """
INSERT INTO notifications (biller_id, id, event_id, template, account_no, recipient_kind,
                           address, language, params, subject, text, status, attempts,
                           next_attempt_at, created_at)
SELECT (SELECT id FROM billers WHERE code = 'BJWATER'), 'N' || lpad(i::text, 4, '0'), i,
       'bill.issued', '0100000001', 'sms', '13800138000', 'zh-CN', '{}', '{}',
       '{"zh-CN": "新账单"}', 'PENDING', 0, :now, :now
  FROM generate_series(1, :n) i
"""


class CountingSms:
    """A provider that counts every message handed to it, repeats included."""

    name = "counting"

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def destination(self, notification: Notification) -> str:
        return notification.address

    async def send(self, notification: Notification, now: datetime) -> Outcome:
        self.sent[notification.id] += 1
        await asyncio.sleep(0.005)  # the passes' batches overlap
        return Outcome(True, 200)


async def test_two_passes_share_the_due_messages_and_send_none_twice(
    engine: AsyncEngine, clock: FrozenClock, hub: Any
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(_QUEUE), {"now": clock.now(), "n": MESSAGES})
    sms = CountingSms()
    providers = {"sms": sms}
    passes = await beside_a_locker(
        engine,
        "notifications",
        [lambda: deliver_due_notifications(engine, clock, providers, batch=40)] * 2,
    )
    last = await deliver_due_notifications(engine, clock, providers)
    assert len(sms.sent) == MESSAGES and set(sms.sent.values()) == {1}
    assert_shared(passes, last, "sent", MESSAGES)
    await assert_recorded_once(engine, "notifications", "notification_attempts", "SENT", MESSAGES)

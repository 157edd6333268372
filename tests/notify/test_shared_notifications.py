"""Two workers' passes over the same due messages share them: each is handed to its
provider once, by one of them, and recorded once (issue 15: the senders' shape)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import FrozenClock
from utilipay.notify.delivery import deliver_due_notifications
from utilipay.notify.providers.base import Outcome
from utilipay.notify.schemas import Notification

MESSAGES = 240
LOCKED = 10
_QUEUE = """
INSERT INTO notifications (biller_id, id, event_id, template, account_no, recipient_kind,
                           address, language, params, subject, text, status, attempts,
                           next_attempt_at, created_at)
SELECT (SELECT id FROM billers WHERE code = 'BJWATER'), 'N' || lpad(i::text, 4, '0'), i,
       'bill.issued', '0100000001', 'sms', '13800138000', 'zh-CN', '{}', '{}',
       '{"zh-CN": "新账单"}', 'PENDING', 0, :now, :now
  FROM generate_series(1, :n) i
"""
_LOCK = "SELECT id FROM notifications ORDER BY id LIMIT :n FOR UPDATE"


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
    async with engine.connect() as third:
        # a third worker has the first ones locked: passed by, not waited for
        await third.execute(text(_LOCK), {"n": LOCKED})
        passes = await asyncio.wait_for(
            asyncio.gather(
                *(deliver_due_notifications(engine, clock, providers, batch=40) for _ in "ab")
            ),
            timeout=30,
        )
        await third.rollback()
    last = await deliver_due_notifications(engine, clock, providers)
    assert len(sms.sent) == MESSAGES and set(sms.sent.values()) == {1}
    assert [p.attempted > 0 for p in passes] == [True, True]  # both worked some
    assert sum(p.results.get("sent", 0) for p in passes) == MESSAGES - LOCKED
    assert last.results == {"sent": LOCKED}
    async with engine.connect() as conn:
        settled = await conn.execute(
            text("SELECT status, attempts, count(*) FROM notifications GROUP BY 1, 2")
        )
        assert [tuple(r) for r in settled] == [("SENT", 1, MESSAGES)]
        logged = await conn.execute(text("SELECT count(*) FROM notification_attempts"))
        assert logged.scalar_one() == MESSAGES

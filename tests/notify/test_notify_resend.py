"""A receipt queued again at a payer's request: the same message to the same recipient,
due now, its earlier attempts kept; only a receipt, and only once it is no longer queued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.notify.test_notify_support import NOWHERE, dispatch, point_at, queued, set_contacts
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.notify.queries import resend
from utilipay_tools.client import ChannelClient


async def test_a_sent_receipt_is_queued_again_and_nothing_else_is(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await import_bills(engine, clock, bill_line("B202610-0001"))
    await set_contacts(engine, ACCOUNT, phone="+8613800138000")  # told of the bill by SMS
    assert (await wechat.call("POST", "/v1/payments", json=payment_body())).status_code == 201
    await dispatch(engine, clock, hub)
    [receipt] = [
        n
        for n in await queued(engine)
        if n.template == "payment.receipt" and n.recipient_kind == "channel"
    ]
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as pending:
            await resend(conn, clock, receipt.id)
        assert pending.value.code is ErrorCode.NOT_READY
        await conn.execute(
            text(
                "UPDATE notifications SET status = 'SENT', sent_at = :now, attempts = 1,"
                " next_attempt_at = NULL"
            ),
            {"now": clock.now()},
        )
    clock.advance(timedelta(days=3))
    async with engine.begin() as conn:
        before, after = await resend(conn, clock, receipt.id)
        with pytest.raises(DomainError) as unknown:
            await resend(conn, clock, "N-none")
        others = [n for n in await queued(engine) if n.template != "payment.receipt"]
    assert (before.status, after.status, after.sent_at, after.attempts) == (
        "SENT", "PENDING", None, 1
    )  # fmt: skip
    assert (after.created_at, after.text, after.address) == (
        clock.now(), before.text, before.address
    )  # fmt: skip
    assert unknown.value.code is ErrorCode.NOT_FOUND
    async with engine.begin() as conn:
        with pytest.raises(DomainError) as not_a_receipt:
            await resend(conn, clock, others[0].id)
    assert not_a_receipt.value.code is ErrorCode.MALFORMED_REQUEST

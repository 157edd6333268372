"""``payer_payments``: one payer's payments at one channel, newest first, a page at a time
(the payer pages' history; another channel's or payer's are never in it)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel
from tests.helpers import bill_line, import_bills, payment_body
from utilipay.clock import FrozenClock
from utilipay.payments.repository import payer_payments
from utilipay_tools.client import ChannelClient


async def test_newest_first_a_page_at_a_time_only_the_payers_at_the_channel(
    engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient, alipay: ChannelClient,
    world: dict[str, object],
) -> None:  # fmt: skip
    await import_bills(engine, clock, *(bill_line(f"B{n}", amount=100 + n) for n in range(4)))
    for n, (client, payer) in enumerate(
        [(wechat, "wx-a"), (wechat, "wx-a"), (alipay, "wx-a"), (wechat, "wx-b")]
    ):
        body = payment_body(f"O{n}", amount=100 + n, bill_nos=[f"B{n}"], payer=payer)
        made = await client.call("POST", "/v1/payments", json=body)
        assert made.status_code == 201, made.text
        clock.advance(timedelta(minutes=1))
    wechat_id = channel(world, "wechat").id
    async with engine.connect() as conn:
        everything = await payer_payments(conn, wechat_id, "wx-a")
        first = await payer_payments(conn, wechat_id, "wx-a", limit=1)
        rest = await payer_payments(conn, wechat_id, "wx-a", before=first[0].created_at)
    assert [p.order_id for p in everything] == ["O1", "O0"]
    assert [p.order_id for p in first] == ["O1"] and [p.order_id for p in rest] == ["O0"]

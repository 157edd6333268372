"""A payment's story as the areas that keep its parts tell it (the console's payment
page): the payment and its resolving, its protocol calls, its items in the exceptions
queue, its ledger entries, its webhooks and the messages to its payer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REMOTE_ACCOUNT
from tests.helpers import ACCOUNT, bill_line, import_bills, payment_body
from tests.payments.test_remote_payments import worker  # noqa: F401 (the fixture)
from tests.receivers import receiver
from tests.recon.test_recon_corrections import apply, breaks  # noqa: F401 (the fixture)
from tests.utility import CODE, Utility
from tests.webhooks.test_webhooks import _point_wechat_at
from utilipay.billers import calls
from utilipay.clock import FrozenClock
from utilipay.ledger import service as ledger
from utilipay.notify import queries as messages
from utilipay.payments import exceptions, story
from utilipay.webhooks import queries as webhooks
from utilipay_tools.client import ChannelClient


async def pay(client: ChannelClient, **body: Any) -> dict[str, Any]:
    paid = await client.call("POST", "/v1/payments", json=payment_body(**body))
    assert paid.status_code == 201, paid.text
    found: dict[str, Any] = paid.json()
    return found


async def test_a_hosted_payment_its_entry_its_webhook_and_its_receipt_only(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient,
    worker: Any,  # noqa: F811
) -> None:  # fmt: skip
    await import_bills(engine, clock, bill_line("B1", amount=12345), bill_line("B2", amount=500))
    with receiver(503, 503) as hooks:  # the channel is busy, for either payment
        await _point_wechat_at(engine, clock, hub, hooks.url)
        first = await pay(wechat, order_id="WX-1", bill_nos=["B1"], amount=12345)
        other = await pay(wechat, order_id="WX-2", bill_nos=["B2"], amount=500)
        await worker.dispatch_outbox()
        await worker.deliver_webhooks()
    b = first["id"]
    async with engine.connect() as conn:
        told = await story.told(conn, b)
        assert told is not None and (told.biller, told.channel) == ("BJWATER", "WECHAT")
        assert (told.payment.amount, told.payment.receipt_no) == (12345, first["receipt_no"])
        assert told.resolving.state is None and told.resolving.check_attempts == 0
        assert await story.told(conn, "P-NO-SUCH") is None
        p = told.payment
        assert await calls.calls_for(conn, p.biller_id, p.id) == []  # hosted: no utility asked
        entries = await ledger.entries_for_payment(conn, p.biller_id, p.id)
        assert [sorted(line.amount for line in e.postings) for e in entries] == [[-12345, 12345]]
        sent = await webhooks.deliveries_for(conn, p.channel_id, p.id)
        assert [(d.event_type, d.status, d.attempts, d.last_status_code) for d in sent] == [
            ("payment.succeeded", "PENDING", 1, 503)
        ]  # fmt: skip
        receipts = await messages.messages_for_payment(conn, p.biller_id, ACCOUNT, p.id)
        assert [(m.template, m.params["payment_id"]) for m in receipts] == [
            ("payment.receipt", b)
        ]  # fmt: skip
        assert other["id"] != b  # the same account's other receipt is not this payment's


async def test_a_remote_payment_tells_its_protocol_calls(
    engine: AsyncEngine, wechat: ChannelClient, utility: Utility
) -> None:
    paid = await pay(wechat, order_id="WX-R1", biller=CODE, account=REMOTE_ACCOUNT,
                     bill_nos=["RB-1"], amount=4250)  # fmt: skip
    async with engine.connect() as conn:
        told = await story.told(conn, paid["id"])
        assert told is not None and told.biller == CODE
        made = await calls.calls_for(conn, told.payment.biller_id, paid["id"])
    assert [(c.trancode, c.outcome) for c in made] == [("charge", "0000")]


async def test_a_payments_items_in_the_queue_open_and_resolved(
    engine: AsyncEngine,
    clock: FrozenClock,
    breaks: int,  # noqa: F811
) -> None:
    await apply(engine, clock, breaks)
    async with engine.begin() as conn:
        (item,) = [e for e in await exceptions.list_open(conn) if e.payment_id]
        assert item.biller_id is not None and item.payment_id is not None
        before = await exceptions.items_for(conn, item.biller_id, item.payment_id)
        await exceptions.resolve(conn, clock, item.id, exceptions.Resolution.NO_ACTION,
                                 actor="ops", reason="no money taken")  # fmt: skip
        after = await exceptions.items_for(conn, item.biller_id, item.payment_id)
    assert [(i.id, i.kind, i.resolution) for i in before] == [(item.id, item.kind, None)]
    assert [(i.resolution, i.resolved_by, i.note) for i in after] == [
        (exceptions.Resolution.NO_ACTION, "ops", "no money taken")
    ]  # fmt: skip

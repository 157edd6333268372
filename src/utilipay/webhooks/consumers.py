"""Which events become webhooks: a payment's final status (and a terminal's void), to its
channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import CodeOfBiller
from utilipay.channels.schemas import Channel
from utilipay.outbox.dispatch import StoredEvent
from utilipay.payments import repository as payments_repo
from utilipay.payments.views import payment_out
from utilipay.webhooks.service import enqueue


class PaymentWebhooks:
    """``payment.succeeded`` / ``payment.failed`` (and a terminal's ``payment.voided`` /
    ``payment.void_refused``) → a delivery to the paying channel."""

    def __init__(
        self, channel_by_id: Callable[[int], Channel | None], biller_code: CodeOfBiller
    ) -> None:
        self._channel_by_id = channel_by_id
        self._biller_code = biller_code

    async def __call__(self, conn: AsyncConnection, event: StoredEvent, now: datetime) -> None:
        channel = self._channel_by_id(event.payload["channel_id"])
        if channel is None or channel.webhook_url is None:
            return  # a channel without a URL polls instead
        stored = await payments_repo.by_id(conn, event.aggregate_id)
        if stored is None:  # the event is written with its payment, in one transaction
            raise RuntimeError(f"payment {event.aggregate_id} of event {event.id} is missing")
        data = payment_out(stored.for_channel(self._biller_code))
        await enqueue(conn, channel.id, event.event_type, stored.id, data, now)

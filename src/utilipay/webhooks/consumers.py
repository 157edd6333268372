"""Which events become webhooks: a payment's final status, to its channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import BillerCode
from utilipay.channels.schemas import Channel
from utilipay.payments import repository as payments_repo
from utilipay.payments.views import payment_out
from utilipay.webhooks.service import enqueue


class PaymentWebhooks:
    """``payment.succeeded`` / ``payment.failed`` → a delivery to the paying channel."""

    def __init__(
        self, channel_by_id: Callable[[int], Channel | None], biller_code: BillerCode
    ) -> None:
        self._channel_by_id = channel_by_id
        self._biller_code = biller_code

    async def __call__(self, conn: AsyncConnection, event: Any, now: datetime) -> None:
        channel = self._channel_by_id(event.payload["channel_id"])
        if channel is None or channel.webhook_url is None:
            return  # a channel without a URL polls instead
        row = await payments_repo.by_id(conn, event.aggregate_id)
        if row is None:  # the event is written with its payment, in one transaction
            raise RuntimeError(f"payment {event.aggregate_id} of event {event.id} is missing")
        data = payment_out(payments_repo.to_payment(row._mapping, self._biller_code))
        await enqueue(conn, channel.id, event.event_type, row.id, data, now)

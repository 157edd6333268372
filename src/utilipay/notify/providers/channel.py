"""A payer's message through their channel (channel-api.md §10): POSTed to the channel's
webhook URL as ``{"type": "notification", "data": {…}}``, signed as in §3 with the
channel's current secret and the hub's code ``UTILIPAY``; any 2xx acknowledges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx
import orjson

from utilipay.channels.schemas import Channel
from utilipay.common import outgoing
from utilipay.notify.providers.base import Outcome
from utilipay.notify.recipients import ChannelById
from utilipay.notify.schemas import Notification
from utilipay.security.signing import new_nonce, sign_request
from utilipay.webhooks.service import HUB_CODE


def payload(notification: Notification) -> dict[str, Any]:
    return {
        "type": "notification",
        "data": {
            "id": notification.id,
            "payer": notification.address,
            "template": notification.template,
            "params": notification.params,
            "text": notification.text,
        },
    }


@dataclass(frozen=True, slots=True)
class ChannelProvider:
    http: httpx.AsyncClient
    channel_by_id: ChannelById
    name: ClassVar[str] = "channel"

    def _channel(self, notification: Notification) -> Channel | None:
        # Looked up at each attempt: a rotated secret or a moved URL applies to retries.
        if notification.channel_id is None:
            return None
        return self.channel_by_id(notification.channel_id)

    def destination(self, notification: Notification) -> str:
        channel = self._channel(notification)
        return (channel.webhook_url or "") if channel else ""

    async def send(self, notification: Notification, now: datetime) -> Outcome:
        channel = self._channel(notification)
        if channel is None or channel.webhook_url is None:
            return Outcome(acknowledged=False, error="the channel has no webhook URL")
        request = self.http.build_request(
            "POST",
            channel.webhook_url,
            content=orjson.dumps(payload(notification)),
            headers={"Content-Type": "application/json"},
        )
        sign_request(request, HUB_CODE, channel.secret, int(now.timestamp()), new_nonce())
        reply = await outgoing.exchange(self.http, request, limit=outgoing.REPLY_LIMIT)
        return Outcome(reply.is_success, status_code=reply.status_code)

"""SMS through an HTTP gateway.

The hub POSTs, per message, ``application/json``::

    {"id": "N01J…", "to": "+8613800138000", "text": "…"}

with the headers

- ``X-Utilipay-Timestamp``: Unix time in seconds;
- ``X-Utilipay-Signature``: lower-case hex HMAC-SHA256 with the shared secret
  (``UTILIPAY_SMS_SECRET``) of the timestamp, a newline (``\\n``) and the exact
  body bytes.

The gateway verifies the signature (in constant time) and the timestamp's age
before sending. Any 2xx acknowledges; anything else, or no answer, is retried
with the same ``id``, on which the gateway dedupes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from utilipay.common import outgoing
from utilipay.notify.providers.base import Outcome
from utilipay.notify.schemas import Notification
from utilipay.notify.settings import NotifySettings
from utilipay.security.signing import sign


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return sign(secret, timestamp.encode() + b"\n" + body)


@dataclass(frozen=True, slots=True)
class SmsGateway:
    http: httpx.AsyncClient
    url: str
    secret: str = field(repr=False)
    name: ClassVar[str] = "sms-gateway"

    @classmethod
    def from_settings(cls, settings: NotifySettings, http: httpx.AsyncClient) -> SmsGateway | None:
        """None when no gateway is configured."""
        if not (settings.sms_url and settings.sms_secret):
            return None
        return cls(http, settings.sms_url, settings.sms_secret.get_secret_value())

    def destination(self, notification: Notification) -> str:
        parts = urlsplit(self.url)  # without a query or credentials, which may hold a token
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))

    async def send(self, notification: Notification, now: datetime) -> Outcome:
        body = orjson.dumps(
            {"id": notification.id, "to": notification.address, "text": notification.own_text}
        )
        timestamp = str(int(now.timestamp()))
        request = self.http.build_request(
            "POST",
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Utilipay-Timestamp": timestamp,
                "X-Utilipay-Signature": signature(self.secret, timestamp, body),
            },
        )
        reply = await outgoing.exchange(self.http, request, limit=outgoing.REPLY_LIMIT)
        return Outcome(reply.is_success, status_code=reply.status_code)

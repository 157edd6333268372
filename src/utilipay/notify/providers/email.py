"""E-mail over SMTP (aiosmtplib): one text/plain UTF-8 message per notification.

The Message-ID is made from the notification id, so a retry after a lost reply
is the same message to a mail client. STARTTLS is used when configured (and
then required); credentials are sent only when a username is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import ClassVar

import aiosmtplib

from utilipay.notify.providers.base import Outcome
from utilipay.notify.schemas import Notification
from utilipay.notify.settings import NotifySettings

TIMEOUT = 10.0  # seconds for the whole conversation with the server


@dataclass(frozen=True, slots=True)
class SmtpProvider:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    name: ClassVar[str] = "smtp"

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> SmtpProvider | None:
        """None when no SMTP host is configured."""
        if not settings.smtp_host:
            return None
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            starttls=settings.smtp_starttls,
        )

    def destination(self, notification: Notification) -> str:
        return f"smtp://{self.host}:{self.port}"

    def _message(self, notification: Notification, now: datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notification.address
        message["Subject"] = notification.own_subject
        message["Date"] = format_datetime(now)
        domain = self.sender.rpartition("@")[2] or "utilipay"
        message["Message-ID"] = f"<{notification.id}@{domain}>"
        message.set_content(notification.own_text)
        return message

    async def send(self, notification: Notification, now: datetime) -> Outcome:
        await aiosmtplib.send(
            self._message(notification, now),
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password if self.username else None,
            start_tls=self.starttls,
            timeout=TIMEOUT,
        )
        return Outcome(acknowledged=True)

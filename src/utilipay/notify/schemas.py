from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one recipient, as queued (``subject`` and ``text`` by language)."""

    id: str
    biller_id: int
    account_no: str
    template: str
    recipient_kind: str  # channel | email | sms
    channel_id: int | None
    address: str  # the payer at the channel, an e-mail address, a phone number
    language: str  # the recipient's; a channel message carries every language
    params: dict[str, Any]
    subject: dict[str, str]
    text: dict[str, str]
    status: str  # PENDING | SENT | GAVE_UP
    attempts: int
    created_at: datetime
    sent_at: datetime | None

    @property
    def own_subject(self) -> str:
        return self.subject[self.language]

    @property
    def own_text(self) -> str:
        return self.text[self.language]


def to_notification(row: Mapping[Any, Any]) -> Notification:
    return Notification(
        id=row["id"],
        biller_id=row["biller_id"],
        account_no=row["account_no"],
        template=row["template"],
        recipient_kind=row["recipient_kind"],
        channel_id=row["channel_id"],
        address=row["address"],
        language=row["language"],
        params=row["params"],
        subject=row["subject"],
        text=row["text"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )

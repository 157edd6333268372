"""A utility's early warning (``collection.warning``, issue 13 §6) to its staff.

The event names its contacts (``warning_contacts`` of the ``warnings`` area, copied when
the warning opened: those who were to hear of it then); zh-CN, as the utility's staff
keep no language.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.notify.messages import CollectionWarningNews
from utilipay.notify.recipients import Account, Recipient
from utilipay.notify.templates import DEFAULT_LANGUAGE
from utilipay.outbox.dispatch import StoredEvent


async def warning_contacts(conn: AsyncConnection, event: StoredEvent) -> list[Recipient]:
    return [Recipient(c["kind"], c["address"], DEFAULT_LANGUAGE) for c in event.payload["contacts"]]


async def collection_warning(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> CollectionWarningNews:
    p = event.payload
    return {
        "biller": p["biller"],
        "biller_name": p["biller_name"],
        "account_no": p["account_no"],
        "warning_id": int(p["warning_id"]),
        "kind": p["kind"],
        "summary_en": p["summary_en"],
        "summary_zh": p["summary_zh"],
        "at": p["at"],
    }

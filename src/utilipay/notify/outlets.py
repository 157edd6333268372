"""The outlet owner's low-float message (channel-api.md §11, issue 12).

``outlet.float_low`` is emitted once per episode by the float's SQL (``outlets/sql/
floats.sql``); it goes to the owner's phone (SMS) and e-mail, not to a payer or an
account holder. Zh-CN: the outlets keep no language of their owner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import to_shanghai_iso
from utilipay.notify.messages import OutletFloatLow
from utilipay.notify.recipients import Account, Recipient
from utilipay.notify.templates import DEFAULT_LANGUAGE
from utilipay.outbox.dispatch import StoredEvent
from utilipay.outlets import lowfloat


async def outlet_owner(conn: AsyncConnection, event: StoredEvent) -> list[Recipient]:
    """The owner, while the episode the event began lasts (none once a deposit ended it)."""
    since = datetime.fromisoformat(event.payload["at"])
    owner = await lowfloat.owner_to_warn(conn, int(event.payload["outlet_id"]), since)
    if owner is None:
        return []
    found = [Recipient("sms", owner.phone, DEFAULT_LANGUAGE)] if owner.phone else []
    if owner.email:
        found.append(Recipient("email", owner.email, DEFAULT_LANGUAGE))
    return found


async def outlet_float_low(
    conn: AsyncConnection, event: StoredEvent, account: Account
) -> OutletFloatLow:
    """``account`` is the utility whose payment crossed the threshold: not shown."""
    p = event.payload
    return {
        "account_no": p["account_no"],
        "outlet_name": p["name"],
        "free": p["free"],
        "low_threshold": p["low_threshold"],
        "at": to_shanghai_iso(datetime.fromisoformat(p["at"])),
    }

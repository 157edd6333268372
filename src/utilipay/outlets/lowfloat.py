"""Who hears of an outlet's low float (channel-api.md §11, issue 12), for ``utilipay.notify``.

The episode itself is kept in SQL (``outlet_low_float`` in ``sql/floats.sql``): it sets
``outlets.low_since`` when the free float falls below the threshold and emits one
``outlet.float_low`` event. The notify area reads the outlet's owner here, never the
outlets' tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Only while the episode that sent the event lasts: a warning dispatched after a deposit
# (or after a later episode began, which has its own event) would tell the owner a stale
# figure.
_OWNER_TO_WARN = text(
    "SELECT owner_name, owner_phone, owner_email FROM outlets"
    " WHERE id = :outlet_id AND low_since = :since"
)


@dataclass(frozen=True, slots=True)
class Owner:
    name: str | None
    phone: str | None
    email: str | None


async def owner_to_warn(conn: AsyncConnection, outlet_id: int, since: datetime) -> Owner | None:
    """The owner of ``outlet_id`` if its low-float episode that began at ``since`` is still
    the current one; None once it has ended."""
    row = (await conn.execute(_OWNER_TO_WARN, {"outlet_id": outlet_id, "since": since})).first()
    return None if row is None else Owner(row.owner_name, row.owner_phone, row.owner_email)

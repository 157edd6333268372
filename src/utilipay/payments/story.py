"""A payment as a person looking into it sees it (the console's story of a payment): the
request, where it stands, and how the hub resolved an unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.payments.schemas import StoredPayment
from utilipay.payments.tables import payments

# the directories other areas publish (migration 0024)
_billers = table("billers_directory", column("id"), column("code"), column("name"))
_channels = table("channels_directory", column("id"), column("code"))


@dataclass(frozen=True, slots=True)
class Resolving:
    """Where resolving a remote write-off stands (``payments.resolution``)."""

    state: str | None  # CONFIRMING, REVERSING, EXCEPTION; None once final
    last_outcome: str | None
    check_attempts: int
    refund_attempts: int
    next_check_at: datetime | None
    resolve_by: datetime | None
    reversed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Told:
    payment: StoredPayment
    biller: str
    biller_name: str
    channel: str
    resolving: Resolving


async def told(conn: AsyncConnection, payment_id: str) -> Told | None:
    """The payment ``payment_id``, or None."""
    c = payments.c
    row = (
        await conn.execute(
            select(
                payments,
                _billers.c.code.label("biller"),
                _billers.c.name.label("biller_name"),
                _channels.c.code.label("channel"),
            )
            .join(_billers, _billers.c.id == c.biller_id)
            .join(_channels, _channels.c.id == c.channel_id)
            .where(c.id == payment_id)
        )
    ).first()
    if row is None:
        return None
    m = row._mapping
    resolving = Resolving(
        m["resolution"], m["last_outcome"], m["check_attempts"], m["refund_attempts"],
        m["next_check_at"], m["resolve_by"], m["reversed_at"],
    )  # fmt: skip
    return Told(StoredPayment.of(m), m["biller"], m["biller_name"], m["channel"], resolving)

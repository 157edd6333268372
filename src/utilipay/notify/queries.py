"""What was sent to whom, for people (the demo, support staff)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.notify.schemas import Notification, to_notification
from utilipay.notify.tables import notifications


async def messages_for(
    conn: AsyncConnection,
    *,
    channel_id: int | None = None,
    payer: str | None = None,
    biller_id: int | None = None,
    account_no: str | None = None,
) -> list[Notification]:
    """The messages for a payer at a channel and/or an account, in the order of their events,
    with their status (PENDING, SENT, GAVE_UP). ``payer`` matches channel messages only; an
    account's include its SMS and e-mail."""
    if channel_id is None and payer is None and biller_id is None and account_no is None:
        raise ValueError("say whose messages: a channel and payer, or a biller and account")
    query = select(notifications)
    if channel_id is not None:
        query = query.where(notifications.c.channel_id == channel_id)
    if payer is not None:
        query = query.where(
            notifications.c.recipient_kind == "channel", notifications.c.address == payer
        )
    if biller_id is not None:
        query = query.where(notifications.c.biller_id == biller_id)
    if account_no is not None:
        query = query.where(notifications.c.account_no == account_no)
    order = (notifications.c.created_at, notifications.c.event_id, notifications.c.id)
    rows = await conn.execute(query.order_by(*order))
    return [to_notification(row._mapping) for row in rows]


async def messages_for_payment(
    conn: AsyncConnection, biller_id: int, account_no: str, payment_id: str
) -> list[Notification]:
    """The messages a payment's events sent (its receipt, a failed auto-pay): its
    account's (an index) that name it."""
    n = notifications.c
    rows = await conn.execute(
        select(notifications)
        .where(n.biller_id == biller_id, n.account_no == account_no)
        .where(n.params["payment_id"].astext == payment_id)
        .order_by(n.created_at, n.event_id, n.id)
    )
    return [to_notification(row._mapping) for row in rows]


# Receipts a payer may ask for again (a payment's, a top-up's, an auto-pay debit's).
RECEIPTS = frozenset({"payment.receipt", "prepaid.topup", "autopay.succeeded"})


async def message(
    conn: AsyncConnection, notification_id: str, *, lock: bool = False
) -> Notification:
    query = select(notifications).where(notifications.c.id == notification_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no message {notification_id[:40]}")
    return to_notification(row._mapping)


async def resend(
    conn: AsyncConnection, clock: Clock, notification_id: str
) -> tuple[Notification, Notification]:
    """Queue a receipt again, as it was written, to the same recipient: the delivery passes
    send it as any due message (its earlier attempts stay logged). Returns it before and
    after."""
    before = await message(conn, notification_id, lock=True)
    if before.template not in RECEIPTS:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"message {before.id} is not a receipt")
    if before.status == "PENDING":
        raise DomainError(ErrorCode.NOT_READY, f"message {before.id} is still being sent")
    now = clock.now()
    after = await conn.execute(
        update(notifications)
        .where(notifications.c.biller_id == before.biller_id, notifications.c.id == before.id)
        # created anew: a resend gets the whole retry window, not what is left of the
        # first one's (the audit entry keeps when it was first written)
        .values(status="PENDING", next_attempt_at=now, sent_at=None, created_at=now)
        .returning(notifications)
    )
    return before, to_notification(after.one()._mapping)

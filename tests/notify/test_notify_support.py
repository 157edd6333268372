"""Helpers for the notification tests (no tests here): channels' URLs, contacts, dispatch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.notify.consumers import notification_consumers
from utilipay.notify.schemas import Notification, to_notification
from utilipay.outbox.dispatch import Dispatcher

NOWHERE = "http://127.0.0.1:9/hooks"  # a URL nobody listens on


async def point_at(engine: AsyncEngine, clock: FrozenClock, hub: Any, code: str, url: str) -> None:
    async with engine.begin() as conn:
        await channels_service.update_channel(conn, clock, code, webhook_url=url, actor="t")
    await hub.directory.reload()


async def set_contacts(
    engine: AsyncEngine,
    account_no: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    language: str = "zh-CN",
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE customer_accounts SET phone = :phone, email = :email, language = :language"
                " WHERE account_no = :account_no"
            ),
            {"phone": phone, "email": email, "language": language, "account_no": account_no},
        )


async def dispatch(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> int:
    """Every pending outbox event through the notification consumers only."""
    dispatcher = Dispatcher(notification_consumers(hub.directory.channel_by_id))
    total = 0
    while handed := await dispatcher.dispatch_pending(engine, clock):
        total += handed
    return total


async def undispatch(engine: AsyncEngine) -> None:
    """As if a crashed worker had to dispatch every event again."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outbox_events SET dispatched_at = NULL"))


async def queued(engine: AsyncEngine) -> list[Notification]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM notifications ORDER BY recipient_kind, channel_id, address")
        )
        return [to_notification(r._mapping) for r in rows]


def by_kind(notifications: list[Notification]) -> dict[tuple[str, str], Notification]:
    return {(n.recipient_kind, n.address): n for n in notifications}


async def announced(engine: AsyncEngine, event_type: str, number: str) -> list[tuple[str, int]]:
    """(bill number, the payload's ``number``) of each event of ``event_type``, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT aggregate_id, CAST(payload->>:number AS integer) AS n FROM outbox_events"
                " WHERE event_type = :event_type ORDER BY aggregate_id, n"
            ),
            {"number": number, "event_type": event_type},
        )
        return [(r.aggregate_id, r.n) for r in rows]


def told(sent: list[Notification], template: str) -> dict[str, set[tuple[str, str]]]:
    """bill number → (kind, address) of each message of ``template``."""
    found: dict[str, set[tuple[str, str]]] = {}
    for n in sent:
        if n.template == template:
            found.setdefault(n.params["bill_no"], set()).add((n.recipient_kind, n.address))
    return found

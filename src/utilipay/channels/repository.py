from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels.schemas import Channel, ChannelKind, ChannelStatus
from utilipay.channels.tables import channel_nonces, channels
from utilipay.ledger.accounts import chart

_SELECT = select(channels, chart.c.id.label("receivable_account_id")).join(
    chart,
    and_(
        chart.c.channel_id == channels.c.id,
        chart.c.kind == "CHANNEL_RECEIVABLE",
    ),
)


def _from_row(row: object) -> Channel:
    m = row._mapping  # type: ignore[attr-defined]
    return Channel(
        id=m["id"],
        code=m["code"],
        name=m["name"],
        secret=m["secret"],
        previous_secret=m["previous_secret"],
        webhook_url=m["webhook_url"],
        status=ChannelStatus(m["status"]),
        receivable_account_id=m["receivable_account_id"],
        rate_limit=m["rate_limit"],
        debit_url=m["debit_url"],
        kind=ChannelKind(m["kind"]),
        cashier_url=m["cashier_url"],
        frame_ancestors=tuple((m["frame_ancestors"] or "").split()),
    )


async def by_code(conn: AsyncConnection, code: str) -> Channel | None:
    row = (await conn.execute(_SELECT.where(channels.c.code == code))).first()
    return _from_row(row) if row else None


async def all_channels(conn: AsyncConnection) -> list[Channel]:
    rows = await conn.execute(_SELECT.order_by(channels.c.code))
    return [_from_row(r) for r in rows]


async def insert_channel(
    conn: AsyncConnection,
    *,
    code: str,
    name: str,
    secret: str,
    webhook_url: str | None,
    rate_limit: int | None,
    debit_url: str | None,
    kind: ChannelKind,
    created_at: datetime,
) -> int:
    result = await conn.execute(
        insert(channels)
        .values(
            code=code,
            name=name,
            secret=secret,
            webhook_url=webhook_url,
            rate_limit=rate_limit,
            debit_url=debit_url,
            kind=kind,
            status=ChannelStatus.ACTIVE,
            created_at=created_at,
        )
        .returning(channels.c.id)
    )
    return int(result.scalar_one())


async def update_channel(conn: AsyncConnection, channel_id: int, **values: object) -> None:
    await conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))


async def consume_nonce(conn: AsyncConnection, channel_id: int, nonce: str, now: datetime) -> bool:
    """Record a nonce's first use; False if the channel already used it (a replay).
    ``sql/nonces.sql`` is the one writer, for the hosted payment's database call too."""
    return bool(await conn.scalar(select(func.channel_nonce_use(channel_id, nonce, now))))


async def purge_nonces(conn: AsyncConnection, older_than: datetime) -> int:
    result = await conn.execute(delete(channel_nonces).where(channel_nonces.c.seen_at < older_than))
    return int(result.rowcount)

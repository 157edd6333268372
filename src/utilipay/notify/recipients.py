"""Who is told about an event: the payer at the channel, and the account holder's phone
and e-mail when the hub keeps them.

A channel message goes only to a channel with a webhook URL (one without has
nowhere to receive it). Bill and prepaid balance events go to every payer with
a live binding of the account, and a balance event a payment brought (a
reconnection, a reward) also to the payer who made it, bound or not; the
others to the payer the event names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels.schemas import Channel
from utilipay.notify.templates import DEFAULT_LANGUAGE, LANGUAGES
from utilipay.outbox.dispatch import StoredEvent

ChannelById = Callable[[int], Channel | None]

_ACCOUNT = text(
    """
    SELECT b.code, b.name, b.category, a.phone, a.email, a.language
      FROM billers_directory b
      LEFT JOIN billing_accounts a ON a.biller_id = b.id AND a.account_no = :account_no
     WHERE b.id = :biller_id
    """
)
_BOUND_PAYERS = text(
    """
    SELECT DISTINCT channel_id, payer FROM bindings_live
     WHERE biller_id = :biller_id AND account_no = :account_no
     ORDER BY channel_id, payer
    """
)
_PAYMENT_PAYER = text(
    "SELECT channel_id, payer FROM payments_orders"
    " WHERE biller_id = :biller_id AND id = :payment_id"
)


@dataclass(frozen=True, slots=True)
class Account:
    """The biller and what the hub knows of the account holder (nothing, for a remote biller)."""

    biller_code: str
    biller_name: str
    category: str  # water, electricity, …: what a cut stops
    phone: str | None
    email: str | None
    language: str


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: str  # channel | email | sms
    address: str
    language: str
    channel_id: int | None = None

    @property
    def languages(self) -> tuple[str, ...]:
        """A channel shows its payer the language of its own app: it gets every one."""
        return LANGUAGES if self.kind == "channel" else (self.language,)


async def account_of(conn: AsyncConnection, biller_id: int, account_no: str) -> Account:
    row = (await conn.execute(_ACCOUNT, {"biller_id": biller_id, "account_no": account_no})).one()
    return Account(
        row.code, row.name, row.category, row.phone, row.email, row.language or DEFAULT_LANGUAGE
    )


async def recipients_of(
    conn: AsyncConnection,
    event: StoredEvent,
    account: Account,
    channel_by_id: ChannelById,
    *,
    bound_payers: bool,
) -> list[Recipient]:
    payload = event.payload
    if bound_payers:
        payers = [
            (r.channel_id, r.payer)
            for r in await conn.execute(
                _BOUND_PAYERS,
                {"biller_id": event.biller_id, "account_no": payload["account_no"]},
            )
        ]
        if "payment_id" in payload:
            paid_by = await _payer_of(conn, event.biller_id, payload["payment_id"])
            if paid_by is not None and paid_by not in payers:
                payers.append(paid_by)
    else:
        payers = [(payload["channel_id"], payload["payer"])]
    found = [
        Recipient("channel", payer, account.language, channel_id)
        for channel_id, payer in payers
        if _reachable(channel_by_id(channel_id))
    ]
    if account.phone:
        found.append(Recipient("sms", account.phone, account.language))
    if account.email:
        found.append(Recipient("email", account.email, account.language))
    return found


async def _payer_of(
    conn: AsyncConnection, biller_id: int, payment_id: str
) -> tuple[int, str] | None:
    row = (
        await conn.execute(_PAYMENT_PAYER, {"biller_id": biller_id, "payment_id": payment_id})
    ).first()
    return None if row is None else (row.channel_id, row.payer)


def _reachable(channel: Channel | None) -> bool:
    return channel is not None and channel.webhook_url is not None

"""The SMS code that verifies a binding (channel-api.md §13): to the phone on record only,
never to the channel (whose payer is the one to prove they hold that phone).

The event carries the code sealed; it is unsealed here only to render the message, and the
stored params leave it out (``Rule.secret``): only the SMS text, which the gateway must be
given, holds it. Nothing logs it (a template error logs the error's type and message, and
this template's errors name no value).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.notify.messages import BindingCode
from utilipay.notify.recipients import Account, Recipient, account_of
from utilipay.outbox.dispatch import StoredEvent
from utilipay.security.sealing import unseal


async def holder_phone(conn: AsyncConnection, event: StoredEvent) -> list[Recipient]:
    account = await account_of(conn, event.biller_id, event.payload["account_no"])
    return [Recipient("sms", account.phone, account.language)] if account.phone else []


async def binding_code(conn: AsyncConnection, event: StoredEvent, account: Account) -> BindingCode:
    p = event.payload
    return {
        "biller": account.biller_code,
        "biller_name": account.biller_name,
        "account_no": p["account_no"],
        "code": unseal(p["sealed_code"]),
        "minutes": p["minutes"],
    }

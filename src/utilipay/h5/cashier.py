"""Sending a payer to the channel's cashier (docs/h5.md): the order's id, amount and what
it pays, the page to come back to, and the hub's signature over all of it with the
channel's secret, so the cashier can tell the hub made the order and nobody changed it.

``sig`` is the lower-case hex HMAC-SHA256, with the channel's current secret, of the
fields' values joined by newlines in the order of ``FIELDS`` (``bill_nos`` comma-joined,
``ts`` Unix seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from utilipay.channels.schemas import Channel
from utilipay.h5.store import Order
from utilipay.security.signing import sign, signature_matches

FIELDS = ("order_id", "amount", "biller", "account", "bill_nos", "payer", "return_url", "ts")


def message(fields: Mapping[str, str]) -> bytes:
    return "\n".join(fields.get(name, "") for name in FIELDS).encode()


def cashier_link(channel: Channel, order: Order, return_url: str, now_epoch: int) -> str:
    if channel.cashier_url is None:
        raise ValueError(f"channel {channel.code} has no cashier URL")
    fields = {
        "order_id": order.id, "amount": str(order.amount), "biller": order.biller_code,
        "account": order.account_no, "bill_nos": ",".join(order.bill_nos),
        "payer": order.payer, "return_url": return_url, "ts": str(now_epoch),
    }  # fmt: skip
    query = urlencode({**fields, "sig": sign(channel.secret, message(fields))})
    joiner = "&" if "?" in channel.cashier_url else "?"
    return f"{channel.cashier_url}{joiner}{query}"


def signed_by_hub(secrets: tuple[str, ...], fields: Mapping[str, str]) -> bool:
    """What a cashier checks (the channel simulator's does): signed with one of its secrets."""
    return signature_matches(secrets, message(fields), fields.get("sig", ""))

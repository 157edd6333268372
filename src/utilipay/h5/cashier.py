"""Sending a payer to the channel's cashier (docs/h5.md), for one of two purposes:

- paying an order: the order's id, amount and what it pays (``FIELDS``);
- authorising a sign-up (``purpose=signup``): auto-pay's cap, or smart payment's reminder
  and automatic top-up, for an account, with the request's id the channel gives back as
  ``signup_id`` when it calls ``POST /v1/mandates`` or ``POST /v1/prepaid/enrolments``
  (``SIGNUP_FIELDS``; a field that does not apply is empty);

each with the page to come back to and the hub's signature over all of it with the
channel's secret, so the cashier can tell the hub made it and nobody changed it.

``sig`` is the lower-case hex HMAC-SHA256, with the channel's current secret, of the
fields' values joined by newlines in the order of ``FIELDS`` or, for a link with
``purpose=signup``, of ``SIGNUP_FIELDS`` (``bill_nos`` comma-joined, ``ts`` Unix
seconds). A pay link has no ``purpose``: the links made before sign-ups stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from utilipay.channels.schemas import Channel
from utilipay.h5.store import Order, Signup
from utilipay.security.signing import sign, signature_matches

FIELDS = ("order_id", "amount", "biller", "account", "bill_nos", "payer", "return_url", "ts")
SIGNUP = "signup"
SIGNUP_FIELDS = (
    "purpose", "signup_id", "kind", "biller", "account", "payer", "cap", "reminder",
    "topup_amount", "return_url", "ts",
)  # fmt: skip


def fields_signed(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The names signed, in order, for a link of this purpose."""
    return SIGNUP_FIELDS if fields.get("purpose") == SIGNUP else FIELDS


def message(fields: Mapping[str, str]) -> bytes:
    return "\n".join(fields.get(name, "") for name in fields_signed(fields)).encode()


def _link(channel: Channel, fields: dict[str, str]) -> str:
    if channel.cashier_url is None:
        raise ValueError(f"channel {channel.code} has no cashier URL")
    query = urlencode({**fields, "sig": sign(channel.secret, message(fields))})
    joiner = "&" if "?" in channel.cashier_url else "?"
    return f"{channel.cashier_url}{joiner}{query}"


def cashier_link(channel: Channel, order: Order, return_url: str, now_epoch: int) -> str:
    return _link(channel, {
        "order_id": order.id, "amount": str(order.amount), "biller": order.biller_code,
        "account": order.account_no, "bill_nos": ",".join(order.bill_nos),
        "payer": order.payer, "return_url": return_url, "ts": str(now_epoch),
    })  # fmt: skip


def _amount(fen: int | None) -> str:
    return "" if fen is None else str(fen)


def signup_link(channel: Channel, signup: Signup, return_url: str, now_epoch: int) -> str:
    return _link(channel, {
        "purpose": SIGNUP, "signup_id": signup.id, "kind": signup.kind,
        "biller": signup.biller_code, "account": signup.account_no, "payer": signup.payer,
        "cap": _amount(signup.cap), "reminder": _amount(signup.reminder),
        "topup_amount": _amount(signup.topup_amount), "return_url": return_url,
        "ts": str(now_epoch),
    })  # fmt: skip


def signed_by_hub(secrets: tuple[str, ...], fields: Mapping[str, str]) -> bool:
    """What a cashier checks (the channel simulator's does): signed with one of its secrets."""
    return signature_matches(secrets, message(fields), fields.get("sig", ""))

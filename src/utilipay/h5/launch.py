"""The launch link a channel signs to open the payer pages (docs/h5.md).

``GET /h5/launch?channel=…&payer=…&lang=…&ts=…&nonce=…&sig=…``: ``sig`` is the lower-case
hex HMAC-SHA256, with the channel's secret, of channel-api.md §3's canonical text for
``GET /h5/launch?channel=…&payer=…&lang=…`` (those three, in this order, percent-encoded
as RFC 3986 says), the timestamp, the nonce and an empty body. A link is good for 60 s
either side of the hub's clock, and once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.console.i18n import Locale
from utilipay.security.signing import canonical, new_nonce, sign, signature_matches

PATH = "/h5/launch"
VALID_SECONDS = 60
# Launch nonces share the channel's nonce store with its API calls; an API nonce cannot
# hold a ':' (§3), so the two can never collide.
NONCE_NAMESPACE = "h5-launch:"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_PAYER = re.compile(r"[^\x00-\x1f\x7f]{1,128}")  # as the API takes a payer
_CHANNEL = re.compile(r"[A-Z0-9_]{1,32}")


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch link's fields, well formed but not yet verified."""

    channel: str
    payer: str
    lang: Locale
    ts: int
    nonce: str
    sig: str

    def message(self) -> bytes:
        return message(self.channel, self.payer, self.lang, self.ts, self.nonce)


def message(channel: str, payer: str, lang: Locale, ts: int, nonce: str) -> bytes:
    """What is signed: §3's canonical text of the link without its ts, nonce and sig."""
    query = urlencode((("channel", channel), ("payer", payer), ("lang", lang)), quote_via=quote)
    return canonical("GET", f"{PATH}?{query}", str(ts), nonce, b"")


def link(base_url: str, code: str, secret: str, payer: str, lang: Locale, now_epoch: int) -> str:
    """A fresh launch link, as channel ``code`` makes it (the CLI, the simulated channel's
    "open in app", the tests)."""
    nonce = new_nonce()
    sig = sign(secret, message(code, payer, lang, now_epoch, nonce))
    query = urlencode(
        (("channel", code), ("payer", payer), ("lang", lang),
         ("ts", now_epoch), ("nonce", nonce), ("sig", sig)),
        quote_via=quote,
    )  # fmt: skip
    return f"{base_url.rstrip('/')}{PATH}?{query}"


def parse(query: Mapping[str, str]) -> Launch | None:
    """The link's fields if each is well formed, else None (refused without detail)."""
    fields = {name: query.get(name, "") for name in ("channel", "payer", "lang", "ts", "nonce")}
    sig = query.get("sig", "")
    if not (
        _CHANNEL.fullmatch(fields["channel"])
        and _PAYER.fullmatch(fields["payer"])
        and fields["lang"] in set(Locale)
        and _TIMESTAMP.fullmatch(fields["ts"])
        and _NONCE.fullmatch(fields["nonce"])
        and _SIGNATURE.fullmatch(sig)
    ):
        return None
    return Launch(
        fields["channel"], fields["payer"], Locale(fields["lang"]), int(fields["ts"]),
        fields["nonce"], sig,
    )  # fmt: skip


def verifies(launch: Launch, channel: Channel | None, now_epoch: float) -> bool:
    """Signed by an active channel with one of its secrets (both during a rotation, each
    compared in constant time), within 60 s of the hub's clock. The nonce's single use is
    the caller's, in its transaction."""
    if channel is None or channel.status is not ChannelStatus.ACTIVE:
        return False
    if not signature_matches(channel.accepted_secrets, launch.message(), launch.sig):
        return False
    return abs(now_epoch - launch.ts) <= VALID_SECONDS

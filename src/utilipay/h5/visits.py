"""Who is visiting the payer pages: the session cookie a launch link set, its channel and
payer, and the CSRF token of every form.

Every page takes ``payer: Visitor``. Without a live session the visitor is told to open
the pages from their app; a request that is not a read must carry the session's CSRF token
(a form field, or htmx's header).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from utilipay.channels import repository as channels_repo
from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.console.i18n import words
from utilipay.h5 import store
from utilipay.http.host import Host

SESSION_COOKIE = "utilipay_h5"
LANG_COOKIE = "utilipay_h5_lang"
COOKIE_PATH = "/h5"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class Refused(Exception):
    """A refusal shown as a page with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NoSession(Refused):
    def __init__(self) -> None:
        super().__init__(
            401, words("Please open these pages from your app; your visit may have ended.")
        )


_FORM_REFUSED = words(
    "This form has expired or did not come from these pages. Go back and try again."
)


@dataclass(frozen=True, slots=True)
class Payer:
    """The payer of a live session, at the channel that launched it."""

    channel: Channel
    payer: str
    csrf_token: str


def host(request: Request) -> Host:
    hub: Host = request.app.state.hub
    return hub


async def _visitor(request: Request) -> Payer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        raise NoSession
    hub = host(request)
    async with hub.engine.connect() as conn:
        session = await store.live_session(conn, token, hub.clock.now())
        # read now, not from the directory's cache: a disabled channel ends its sessions
        if session is None:
            raise NoSession
        channel = await channels_repo.by_code(conn, session.channel_code)
    if channel is None or channel.status is not ChannelStatus.ACTIVE:
        raise NoSession
    payer = Payer(channel, session.payer, session.csrf_token)
    request.state.payer = payer
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, session.csrf_token)
    return payer


async def _check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        field = (await request.form()).get(CSRF_FIELD)  # Starlette keeps it for the route
        given = field if isinstance(field, str) else None
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        raise Refused(403, _FORM_REFUSED)


Visitor = Annotated[Payer, Depends(_visitor)]

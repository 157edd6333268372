"""A payer's way in: a verified launch link opens a session of 30 minutes, bound to the
channel and the payer the link names. There is no other way in."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels import repository as channels_repo
from utilipay.clock import Clock
from utilipay.h5 import store
from utilipay.h5.launch import NONCE_NAMESPACE, Launch, verifies
from utilipay.h5.store import Session

LIFETIME = timedelta(minutes=30)


async def open_from_launch(
    conn: AsyncConnection, clock: Clock, launch: Launch | None
) -> tuple[str, Session] | None:
    """The new session's cookie value and the session, or None for a link that is
    malformed, not signed by an active channel, too old or too new, or used before."""
    if launch is None:
        return None
    now = clock.now()
    channel = await channels_repo.by_code(conn, launch.channel)
    if channel is None or not verifies(launch, channel, now.timestamp()):
        return None
    if not await channels_repo.consume_nonce(conn, channel.id, NONCE_NAMESPACE + launch.nonce, now):
        return None
    token = secrets.token_urlsafe(32)
    session = Session(channel.code, launch.payer, secrets.token_urlsafe(32), now + LIFETIME)
    await store.open_session(conn, token, session, now)
    return token, session

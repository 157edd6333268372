"""The access log: a line per request once its response has gone, never in its way.

Each line (structlog, ``event: http.request``) has the method, the path without its query
string (a query may carry what should not be kept), the status, the duration in
milliseconds and the channel code the request claims (``X-Utilipay-Channel``): no body, no
header else, so no signature, secret or token.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHANNEL_HEADER = b"x-utilipay-channel"
log = structlog.get_logger("utilipay.access")


class AccessLog:
    """Wraps an ASGI app; HTTP requests are logged after their response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,  # 0: no response was sent
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                channel=_channel(scope),
            )


def _channel(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == CHANNEL_HEADER:
            return str(value[:32].decode("latin-1"))
    return None

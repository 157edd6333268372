"""A channel's side of the channel API: signed requests (for the demo, benchmarks and tests)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from utilipay.clock import Clock, SystemClock
from utilipay.security.signing import new_nonce, sign_request


class ChannelClient:
    """Async client that signs every request as channel ``code``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        code: str,
        secret: str,
        clock: Clock | None = None,
    ) -> None:
        self.http = http
        self.code = code
        self.secret = secret
        self.clock = clock or SystemClock()

    def build(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        nonce: str | None = None,
    ) -> httpx.Request:
        content = orjson.dumps(json) if json is not None else b""
        headers = {"Content-Type": "application/json"} if json is not None else {}
        request = self.http.build_request(
            method, path, content=content, params=params, headers=headers
        )
        timestamp = int(self.clock.now().timestamp())
        return sign_request(request, self.code, self.secret, timestamp, nonce or new_nonce())

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self.http.send(request)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self.send(self.build(method, path, json=json, params=params))


class TerminalClient(ChannelClient):
    """Signs as a terminal of the channel's outlets (channel-api.md §11): the terminal's own
    secret, and its id in ``X-Utilipay-Terminal``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        channel: str,
        terminal_id: str,
        secret: str,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(http, channel, secret, clock)
        self.terminal_id = terminal_id

    def build(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        nonce: str | None = None,
    ) -> httpx.Request:
        request = super().build(method, path, json=json, params=params, nonce=nonce)
        request.headers["X-Utilipay-Terminal"] = self.terminal_id
        return request

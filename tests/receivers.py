"""A real HTTP endpoint for a channel's webhooks, for tests: records what arrives and
answers with the statuses it is told to (then 200), after ``delay`` seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from utilipay.web.server import ServerThread


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    delay: float = 0.0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.received.append(Received(path, dict(request.headers), body))
        self.arrived.set()
        await asyncio.sleep(self.delay)
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether ``count`` requests arrived within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.received) >= count


@contextmanager
def receiver(*answers: int, delay: float = 0.0) -> Iterator[Receiver]:
    state = Receiver(answers=list(answers), delay=delay)
    app = Starlette(routes=[Route("/hooks/utilipay", state.handle, methods=["POST"])])
    with ServerThread(app) as base_url:
        state.url = f"{base_url}/hooks/utilipay?v=1"
        yield state

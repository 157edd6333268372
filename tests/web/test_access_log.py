"""The access log: a structured line per request, after its response, with nothing secret."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import URL
from structlog.testing import capture_logs

from tests.conftest import SECRET
from tests.helpers import payment_body
from utilipay.cli.runtime import describe_database
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import database_url, libpq_url
from utilipay.web.access_log import AccessLog
from utilipay.web.app import create_app
from utilipay.web.hub import Hub
from utilipay.web.server import free_port
from utilipay_tools.client import ChannelClient
from utilipay_tools.processes import wait_until_listening


@pytest.fixture
async def logged(hub: Hub, clock: FrozenClock) -> AsyncIterator[ChannelClient]:
    transport = httpx.ASGITransport(app=AccessLog(create_app(hub)))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield ChannelClient(http, "WECHAT", SECRET, clock)


async def test_each_request_is_one_line_without_body_query_or_secret(
    logged: ChannelClient,
) -> None:
    with capture_logs() as lines:
        listed = await logged.call("GET", "/v1/billers", params={"token": "query-secret-123"})
        paid = await logged.call("POST", "/v1/payments", json=payment_body(amount=1.5))
        health = await logged.http.get("/healthz")
    assert (listed.status_code, paid.status_code, health.status_code) == (200, 400, 200)
    assert [{k: v for k, v in line.items() if k != "duration_ms"} for line in lines] == [
        {"event": "http.request", "log_level": "info", "method": "GET", "path": "/v1/billers",
         "status": 200, "channel": "WECHAT"},
        {"event": "http.request", "log_level": "info", "method": "POST", "path": "/v1/payments",
         "status": 400, "channel": "WECHAT"},
        {"event": "http.request", "log_level": "info", "method": "GET", "path": "/healthz",
         "status": 200, "channel": None},
    ]  # fmt: skip
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    written = repr(lines)
    assert "query-secret-123" not in written and SECRET not in written
    assert "order_id" not in written and "X-Utilipay-Signature".lower() not in written.lower()


def test_serve_names_its_database_without_the_password() -> None:
    settings = Settings(database_url="postgresql://hub:s3cret-pw@db.example:5433/utilipay")
    described = describe_database(settings, database_url(settings))
    assert described == "postgresql://hub:***@db.example:5433/utilipay"


@pytest.mark.parametrize(("flag", "lines"), [("--no-access-log", 0), ("--access-log", 2)])
def test_serve_with_one_process_logs_as_told(db_url: URL, flag: str, lines: int) -> None:
    """One process builds the app in ``serve``'s own process, after ``serve`` read its
    settings: the flag must still reach it (two processes read it from the environment)."""
    port = free_port()
    env = {**os.environ, "UTILIPAY_DATABASE_URL": libpq_url(db_url)}
    command = [sys.executable, "-m", "utilipay", "serve", "--port", str(port), "--workers", "1",
               flag]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_listening(port, lambda: server.poll() is None, "utilipay serve")
        for _ in range(2):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert stderr.decode().count('"event":"http.request"') == lines

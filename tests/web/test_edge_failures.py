"""A failure on the server's side is problem+json like every refusal, logged as one line
without the client's data; a database connection lost mid-request is 503 with Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import raw_connect
from tests.web.test_bad_input import assert_problem
from utilipay.payments import exceptions

SECRET_INPUT = "client-data-4711"


async def test_an_unexpected_error_in_a_route_is_problem_json_logged_in_one_line(
    http: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_query(conn: AsyncConnection, kind: object = None) -> Any:
        # a real PostgreSQL error whose message and statement carry a parameter
        await conn.execute(text("SELECT CAST(:v AS integer)"), {"v": SECRET_INPUT})

    monkeypatch.setattr(exceptions, "list_open", failing_query)
    with structlog.testing.capture_logs() as logs:
        r = await http.get("/admin/v1/exceptions", headers=admin)
    body = assert_problem(r, 500, "INTERNAL_ERROR")
    assert SECRET_INPUT not in r.text and "SELECT" not in body["detail"]
    assert len(logs) == 1, logs
    assert SECRET_INPUT not in str(logs[0]) and "SELECT" not in str(logs[0])
    assert logs[0]["event"] == "request.failed" and "DataError" in logs[0]["error"]


async def test_a_database_connection_terminated_mid_request_is_503_with_retry_after(
    http: httpx.AsyncClient, admin: dict[str, str], raw_dsn: tuple[str, dict[str, str]]
) -> None:
    locker, killer = await raw_connect(raw_dsn), await raw_connect(raw_dsn)
    try:
        locking = locker.transaction()
        await locking.start()
        await locker.execute("LOCK TABLE recon_runs IN ACCESS EXCLUSIVE MODE")
        request = asyncio.create_task(
            http.get("/admin/v1/recon/runs", params={"date": "2026-11-21"}, headers=admin)
        )
        pid = None
        for _ in range(500):  # until the request's backend waits for the lock
            pid = await killer.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%recon_runs%' AND pid <> $1",
                locker.get_server_pid(),
            )
            if pid is not None:
                break
            await asyncio.sleep(0.01)
        assert pid is not None, "the request never reached the database"
        with structlog.testing.capture_logs() as logs:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
            r = await request
        await locking.rollback()
    finally:
        await locker.close()
        await killer.close()
    assert_problem(r, 503, "SERVICE_UNAVAILABLE")
    assert int(r.headers["retry-after"]) > 0
    assert [entry["db_down"] for entry in logs] == [True]
    # the pool threw the dead connection away: the next request is answered
    ok = await http.get("/admin/v1/recon/runs", params={"date": "2026-11-21"}, headers=admin)
    assert ok.status_code == 200


async def test_a_method_not_allowed_says_which_are(http: httpx.AsyncClient) -> None:
    r = await http.put("/v1/billers")
    assert_problem(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "GET"

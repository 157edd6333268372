"""API tokens: each admin route needs one scope, what is not a live token is 401, tokens are
stored hashed, their last use is marked at most once a minute, and ``utilipay tokens``."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (cli: the fixture)
from tests.conftest import AdminHeaders
from utilipay.access import service as tokens
from utilipay.access.scopes import Scope
from utilipay.cli import tokens as tokens_cli
from utilipay.clock import FrozenClock
from utilipay.web.app import app_from_environment

# Every admin route and the one scope it needs: a new route must be added here.
ROUTES = {
    ("GET", "/metrics"): Scope.METRICS_READ,
    ("GET", "/admin/v1/exceptions"): Scope.OPS_READ,
    ("POST", "/admin/v1/exceptions/{exception_id}/resolve"): Scope.OPS_WRITE,
    ("GET", "/admin/v1/audit"): Scope.OPS_READ,
    ("GET", "/admin/v1/billers/{code}/prepaid"): Scope.OPS_READ,
    ("PUT", "/admin/v1/billers/{code}/prepaid"): Scope.CONFIG_WRITE,
    ("GET", "/admin/v1/billers/{code}/late-fee-rules"): Scope.OPS_READ,
    ("POST", "/admin/v1/billers/{code}/late-fee-rules"): Scope.CONFIG_WRITE,
    ("GET", "/admin/v1/billers/{code}/bills/{bill_no}/late-fee"): Scope.OPS_READ,
    ("POST", "/admin/v1/billers/{code}/bills/{bill_no}/late-fee-waivers"): Scope.CONFIG_WRITE,
    ("POST", "/admin/v1/readings"): Scope.OPS_WRITE,
    ("POST", "/admin/v1/readings/files"): Scope.OPS_WRITE,
    ("GET", "/admin/v1/readings/usage"): Scope.OPS_READ,
    ("POST", "/admin/v1/recon/runs"): Scope.OPS_WRITE,
    ("GET", "/admin/v1/recon/runs"): Scope.OPS_READ,
    ("GET", "/admin/v1/recon/runs/{run_id}"): Scope.OPS_READ,
    ("POST", "/admin/v1/recon/runs/{run_id}/apply"): Scope.OPS_WRITE,
    ("POST", "/admin/v1/settlements/run"): Scope.SETTLEMENT_WRITE,
    ("GET", "/admin/v1/settlements"): Scope.OPS_READ,
    ("GET", "/admin/v1/settlements/{biller}/{day}/file"): Scope.OPS_READ,
    ("GET", "/admin/v1/reports/{name}"): Scope.OPS_READ,
    ("GET", "/admin/v1/warnings"): Scope.OPS_READ,
    ("GET", "/admin/v1/warnings/rules"): Scope.OPS_READ,
    ("POST", "/admin/v1/warnings/rules"): Scope.CONFIG_WRITE,
    ("PATCH", "/admin/v1/warnings/rules/{rule_id}"): Scope.CONFIG_WRITE,
    ("POST", "/admin/v1/warnings/{warning_id}/acknowledge"): Scope.OPS_WRITE,
    ("PUT", "/admin/v1/settlements/accounts/{biller}"): Scope.SETTLEMENT_WRITE,
    ("PUT", "/admin/v1/settlements/fees/{party}/{code}"): Scope.SETTLEMENT_WRITE,
}
PATH_VALUES = {"exception_id": "1", "run_id": "1", "code": "BJWATER", "biller": "BJWATER",
               "day": "2026-11-21", "party": "biller", "name": "aging",
               "bill_no": "B1", "rule_id": "1", "warning_id": "1"}  # fmt: skip


def concrete(path: str) -> str:
    return path.format(**PATH_VALUES)


async def test_the_openapi_document_gives_each_admin_route_its_scope(
    http: httpx.AsyncClient,
) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    secured = {
        (method.upper(), path): operation["security"]
        for path, methods in paths.items()
        for method, operation in methods.items()
        if "apiToken" in operation["security"][0]
    }
    assert secured == {route: [{"apiToken": [scope]}] for route, scope in ROUTES.items()}


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
async def test_a_token_without_the_routes_scope_is_forbidden_one_with_it_gets_in(
    http: httpx.AsyncClient, admin_headers: AdminHeaders, method: str, path: str
) -> None:
    needed = ROUTES[(method, path)]
    others = await admin_headers(*(s for s in Scope if s is not needed), name="others")
    refused = await http.request(method, concrete(path), headers=others, json={})
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == f"API token others lacks the scope {needed}"
    only = await admin_headers(needed, name="only")
    admitted = await http.request(method, concrete(path), headers=only, json={})
    assert admitted.status_code not in (401, 403), admitted.text  # 200, or 400/404 for {}


async def test_what_is_not_a_live_token_is_refused_401(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin_headers: AdminHeaders
) -> None:
    async def refusal(headers: dict[str, str]) -> str:
        r = await http.get("/admin/v1/exceptions", headers=headers)
        assert (r.status_code, r.json()["code"]) == (401, "UNAUTHENTICATED")
        assert r.headers["content-type"] == "application/problem+json"
        return str(r.json()["detail"])

    assert "required" in await refusal({})
    assert "required" in await refusal({"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert await refusal({"Authorization": "Bearer upt_" + "A" * 43}) == "unknown API token"
    assert await refusal({"Authorization": "Bearer " + "x" * 5000}) == "unknown API token"

    alice = await admin_headers(Scope.OPS_READ, name="alice")
    assert (await http.get("/admin/v1/exceptions", headers=alice)).status_code == 200
    async with engine.begin() as conn:
        await tokens.revoke(conn, clock, "alice", actor="security", reason="laptop lost")
    assert await refusal(alice) == "API token alice was revoked"

    async with engine.begin() as conn:
        _, secret = await tokens.create(conn, clock, "temp", [Scope.OPS_READ], actor="t",
                                        expires_at=clock.now() + timedelta(hours=1))  # fmt: skip
    temp = {"Authorization": f"Bearer {secret}"}
    assert (await http.get("/admin/v1/exceptions", headers=temp)).status_code == 200
    clock.advance(timedelta(hours=1))
    assert await refusal(temp) == "API token temp expired at 2026-11-22T16:30:00+08:00"


async def test_last_use_is_written_at_most_once_a_minute(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, admin_headers: AdminHeaders
) -> None:
    prometheus = await admin_headers(Scope.METRICS_READ, name="prometheus")

    async def scrape() -> tuple[Any, str]:
        assert (await http.get("/metrics", headers=prometheus)).status_code == 200
        async with engine.connect() as conn:
            query = text("SELECT last_used_at, xmin::text AS version FROM api_tokens")
            row = (await conn.execute(query)).one()
        return row.last_used_at, row.version  # xmin changes with every write of the row

    first = await scrape()
    assert first[0] == clock.now()
    clock.advance(timedelta(seconds=59))
    assert await scrape() == first == await scrape()  # read, never written
    clock.advance(timedelta(seconds=1))
    later, version = await scrape()
    assert later == clock.now() and version != first[1]


def test_tokens_from_the_command_line_are_shown_once_and_stored_hashed(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokens_cli, "clock", clock)
    r = invoke(cli, "tokens", "create", "prometheus", "--scope", "metrics:read")
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip()
    assert secret.startswith("upt_") and len(secret) == 47 and "\n" not in secret
    assert "shown this once" in r.stderr
    stored = sql(db_url, "SELECT * FROM api_tokens")
    assert secret not in str(stored)
    assert (
        sql(db_url, "SELECT token_sha256 FROM api_tokens")[0][0]
        == hashlib.sha256(secret.encode()).digest()
    )

    r = invoke(cli, "tokens", "create", "ops-li", "--scope", "ops:read", "--scope", "ops:write",
               "--scope", "ops:read", "--expires", "90d")  # fmt: skip
    assert r.exit_code == 0, r.output
    again = invoke(cli, "tokens", "create", "prometheus", "--scope", "metrics:read")
    assert (
        again.exit_code == 1 and "prometheus already has a token: revoke it first" in again.output
    )

    listed = json.loads(invoke(cli, "tokens", "list", "--json").stdout)
    assert [(t["name"], t["scopes"], t["expires_at"]) for t in listed] == [
        ("ops-li", ["ops:read", "ops:write"], "2027-02-20T15:30:00+08:00"),
        ("prometheus", ["metrics:read"], None),
    ]
    assert all(t["created_by"] == "ops-alice" and secret not in str(t) for t in listed)
    assert "metrics:read" in invoke(cli, "tokens", "list").stdout

    r = invoke(cli, "tokens", "revoke", "prometheus", "--reason", "rotated")
    assert r.exit_code == 0, r.output
    assert [t["name"] for t in json.loads(invoke(cli, "tokens", "list", "--json").stdout)] == [
        "ops-li"
    ]
    replaced = invoke(cli, "tokens", "create", "prometheus", "--scope", "metrics:read")
    assert replaced.exit_code == 0 and replaced.stdout.strip() != secret
    everything = json.loads(invoke(cli, "tokens", "list", "--revoked", "--json").stdout)
    assert [t["revoked_at"] is None for t in everything if t["name"] == "prometheus"] == [
        False, True,
    ]  # fmt: skip
    audited = sql(db_url, "SELECT actor, action, object_id, reason FROM audit_log ORDER BY id")
    assert audited == [
        ("ops-alice", "token.create", "prometheus", ""),
        ("ops-alice", "token.create", "ops-li", ""),
        ("ops-alice", "token.revoke", "prometheus", "rotated"),
        ("ops-alice", "token.create", "prometheus", ""),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "x", "--scope", "ops:delete"), "Invalid value for '--scope'"),
        (("create", "x"), "Missing option '--scope'"),
        (("create", "bad name", "--scope", "ops:read"), "must be 1-64 of"),
        (("create", "x", "--scope", "ops:read", "--expires", "2020-01-01"), "not in the future"),
        (("create", "x", "--scope", "ops:read", "--expires", "soon"), "duration 'soon'"),
        (("create", "x", "--scope", "ops:read", "--expires", "2027-01-01T00:00"), "offset"),
        (("revoke", "nobody"), "nobody has no live token"),
    ],
)
def test_token_commands_refuse_with_a_message(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    args: tuple[str, ...],
    message: str,
) -> None:
    r = invoke(cli, "tokens", *args)
    assert r.exit_code in (1, 2) and message in r.output, r.output
    assert sql(db_url, "SELECT count(*) FROM api_tokens") == [(0,)]


async def test_the_old_environment_tokens_are_ignored_and_the_server_says_so(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "alice-admin-token-0123456789abcdef"
    monkeypatch.setenv("UTILIPAY_ADMIN_TOKENS", f"alice:{old}")
    # The server process configures structlog to write JSON to stderr and cache its loggers;
    # in this process that would outlive the test and blind later tests' capture_logs.
    monkeypatch.setattr("utilipay.web.app.configure_logging", lambda level: None)
    with capture_logs() as logs:
        app_from_environment()
    assert [e["event"] for e in logs] == ["admin.obsolete_setting"]
    assert "utilipay tokens create" in logs[0]["detail"] and old not in str(logs)
    r = await http.get("/admin/v1/exceptions", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401

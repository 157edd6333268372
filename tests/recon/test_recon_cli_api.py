"""``utilipay recon run|show|apply`` and the admin API: the same runs, as text and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.conftest import AdminHeaders, channel, water
from tests.helpers import audited_actors
from tests.recon.test_recon_run import D, at, payment, statement
from utilipay.access.scopes import Scope
from utilipay.cli.main import app
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url


@pytest.fixture
async def day(engine: AsyncEngine, world: dict[str, object]) -> None:
    b, wx = water(world).id, channel(world, "wechat").id
    async with engine.begin() as conn:
        await payment(conn, b, wx, "W-OK", 100, finished=at(D, "09:00"))
        await payment(conn, b, wx, "W-FAILED", 500, "FAILED", at(D, "10:00"))
        await statement(conn, "channel", "WECHAT", D, [
            ("W-OK", 100, "PAID", at(D, "09:00")), ("W-FAILED", 500, "PAID", at(D, "10:00")),
        ])  # fmt: skip


@pytest.fixture
def cli(db_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-bob")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> Any:
    """``utilipay recon …``, through the hub's command line as installed."""
    return cli.invoke(app, ["recon", *args], catch_exceptions=False)


def test_run_show_and_apply_from_the_command_line(cli: CliRunner, day: None) -> None:
    ran = invoke(cli, "run", "--date", str(D), "--json")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    run_id = report["run"]["id"]
    assert report["run"]["counts"]["CHANNEL_ONLY"] == 1
    assert report["run"]["actor"] == "ops-bob"
    assert [c["action"] for c in report["corrections"]] == ["REFUND"]

    shown = invoke(cli, "show", "--date", str(D))
    assert shown.exit_code == 0 and "CHANNEL_ONLY" in shown.stdout and "W-FAILED" in shown.stdout
    assert json.loads(invoke(cli, "show", str(run_id), "--json").stdout) == report

    dry = invoke(cli, "apply", str(run_id), "--dry-run", "--reason", "check", "--json")
    assert json.loads(dry.stdout)["corrections"][0]["outcome"].startswith("would open a refund")
    done = invoke(cli, "apply", str(run_id), "--only", "channel_only", "--reason", "daily")
    assert done.exit_code == 0 and "refund F" in done.stdout
    assert "no corrections" in invoke(cli, "apply", str(run_id), "--reason", "again").stdout


def test_command_line_refusals(cli: CliRunner, day: None) -> None:
    none_yet = invoke(cli, "run", "--date", "2026-11-30")
    assert none_yet.exit_code == 1 and "no statement" in none_yet.output
    assert invoke(cli, "run", "--date", "22/11/2026").exit_code == 2
    assert invoke(cli, "show").exit_code == 2
    assert invoke(cli, "apply", "1", "--reason", "x", "--only", "NOPE").exit_code == 2


@pytest.fixture
async def auth(admin_headers: AdminHeaders) -> dict[str, str]:
    """The headers of the operator carol's token (reads and writes)."""
    return await admin_headers(Scope.OPS_READ, Scope.OPS_WRITE, name="carol")


async def test_the_admin_api_runs_reads_and_applies(
    http: httpx.AsyncClient, auth: dict[str, str], day: None, engine: AsyncEngine
) -> None:
    created = await http.post("/admin/v1/recon/runs", json={"date": str(D)}, headers=auth)
    assert created.status_code == 201, created.text
    run_id = created.json()["run"]["id"]
    assert created.json()["run"]["actor"] == "carol"
    listed = await http.get("/admin/v1/recon/runs", params={"date": str(D)}, headers=auth)
    assert [r["id"] for r in listed.json()["runs"]] == [run_id]
    shown = await http.get(f"/admin/v1/recon/runs/{run_id}", headers=auth)
    assert shown.json() == created.json()
    applied = await http.post(
        f"/admin/v1/recon/runs/{run_id}/apply", json={"reason": "daily", "only": "REFUND"},
        headers=auth,
    )  # fmt: skip
    assert applied.status_code == 200
    assert applied.json()["corrections"][0]["outcome"].startswith("refund F")
    async with engine.connect() as conn:
        who = (await conn.execute(text("SELECT applied_by FROM recon_corrections"))).scalar()
    assert who == "carol"
    assert await audited_actors(engine, "recon.run") == ["carol"]
    assert await audited_actors(engine, "recon.refund") == ["carol"]


async def test_admin_api_refusals_are_problems(
    http: httpx.AsyncClient, auth: dict[str, str], day: None
) -> None:
    anonymous = await http.get("/admin/v1/recon/runs", params={"date": str(D)})
    assert anonymous.status_code == 401
    bad = await http.post("/admin/v1/recon/runs", json={"date": "yesterday"}, headers=auth)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    missing = await http.get("/admin/v1/recon/runs/42", headers=auth)
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    early = await http.post("/admin/v1/recon/runs", json={"date": "2026-12-01"}, headers=auth)
    assert (early.status_code, early.json()["code"]) == (409, "NOT_READY")
    reasonless = await http.post("/admin/v1/recon/runs/42/apply", json={"reason": ""}, headers=auth)
    assert reasonless.status_code == 400


def test_the_days_payments_kept_from_the_command_line_are_read_by_its_runs(
    cli: CliRunner, day: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UTILIPAY_HOME", str(tmp_path))
    get_settings.cache_clear()
    before = json.loads(invoke(cli, "run", "--date", str(D), "--json").stdout)
    assert before["run"]["sources"]["payments_read_from"] == "postgresql"
    kept = invoke(cli, "keep-payments", "--date", str(D), "--json")
    assert kept.exit_code == 0, kept.output
    assert (json.loads(kept.stdout)["payments"], json.loads(kept.stdout)["written"]) == (2, True)
    again = invoke(cli, "keep-payments", "--date", str(D)).stdout
    assert "kept 2 payments of" in again and "the file kept before holds them" in again
    after = json.loads(invoke(cli, "run", "--date", str(D), "--json").stdout)
    assert after["run"]["sources"]["payments_read_from"] == "kept file"
    assert after["run"]["counts"] == before["run"]["counts"]
    assert [p.suffix for p in (tmp_path / "recon" / "columnar").iterdir()] == [".parquet"]

"""``utilipay head-end set|commands`` against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from utilipay.cli.main import app
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url

SECRET = "cli-head-end-secret-0123456789"


@pytest.fixture
def cli(db_url: URL, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-alice")
    monkeypatch.setenv("COLUMNS", "200")  # room for the commands' table
    get_settings.cache_clear()
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["billers", "add", "BJPOWER", "--name", "北京电力", "--category", "electricity",
         "--mode", "hosted", "--account-rule", r"[0-9]{10}"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    yield runner
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = cli.invoke(app, list(args), catch_exceptions=False, input=stdin)
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def sql(db_url: URL, statement: str) -> list[Any]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def test_setting_a_head_end_and_listing_its_commands(cli: CliRunner, db_url: URL) -> None:
    code, output = invoke(cli, "head-end", "set", "BJPOWER", "--url", "https://he.example.com")
    assert (code, output) == (1, "error: a head-end is configured first with its URL and secret")
    code, output = invoke(
        cli, "head-end", "set", "BJPOWER", "--url", "https://he.example.com", "--secret", SECRET,
        "--total-timeout", "soon",
    )  # fmt: skip
    assert code == 2 and "must be a positive number with a unit" in output
    code, output = invoke(
        cli, "head-end", "set", "BJPOWER", "--url", "https://he.example.com/api", "--secret",
        "-", "--connect-timeout", "2s", "--total-timeout", "8s", "--give-up-after", "2h",
        "--reason", "new head-end", stdin=SECRET,
    )  # fmt: skip
    assert code == 0, output
    assert output == (
        "head-end of BJPOWER: https://he.example.com/api (timeouts 2 s / 8 s, "
        "gives up after 2:00:00; secrets: 1)"
    )
    code, output = invoke(cli, "head-end", "set", "BJPOWER", "--secret", SECRET + "-next")
    assert code == 0 and output.endswith("secrets: 2)")
    ((details,),) = sql(
        db_url, "SELECT details FROM audit_log WHERE action = 'head_end.configure' ORDER BY id"
        " DESC LIMIT 1",
    )  # fmt: skip
    assert details["changed"]["fields"] == ["secret rotated"] and SECRET not in str(details)

    code, output = invoke(cli, "head-end", "commands", "BJPOWER")
    assert code == 0 and "meter commands of BJPOWER" in output
    sql(
        db_url,
        "INSERT INTO meter_sequences SELECT id, 'E-1', 1 FROM billers WHERE code = 'BJPOWER';"
        " INSERT INTO meter_commands (biller_id, id, meter_id, account_no, action, sequence,"
        " decision_key, reason, status, attempts, next_attempt_at, decided_at)"
        " SELECT id, 'C01', 'E-1', '0500000001', 'disconnect', 1, 'cut:0500000001:1:E-1',"
        " 'PREPAID_CUT', 'PENDING', 0, now(), '2026-11-24T10:00:00+08:00'"
        " FROM billers WHERE code = 'BJPOWER'",
    )
    code, output = invoke(cli, "head-end", "commands", "BJPOWER", "--status", "PENDING")
    assert code == 0
    assert "C01 E-1 0500000001 disconnect 1 PENDING 0 2026-11-24T10:00:00+08:00" in output
    code, output = invoke(cli, "head-end", "commands", "BJPOWER", "--status", "EXECUTED")
    assert "C01" not in output
    assert invoke(cli, "head-end", "commands", "NOPE") == (1, "error: no biller NOPE")

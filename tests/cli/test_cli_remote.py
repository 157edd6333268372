"""The CLI of remote billers: registering and rotating keys, statements, the exceptions queue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql
from utilipay.security.sealing import PREFIX, unseal

__all__ = ["cli"]  # the fixture, used by name below

REMOTE = (
    "billers", "add", "RPOWER", "--name", "remote power", "--category", "electricity",
    "--mode", "remote", "--account-rule", r"\d{10}",
)  # fmt: skip


def test_a_remote_biller_is_registered_and_its_key_rotated(cli: CliRunner, db_url: URL) -> None:
    r = invoke(cli, *REMOTE, "--url", "https://utility.example/bp", "--key", "first-key-0123456",
               "--sign-type", "SHA1", "--confirm-schedule", "5s,1m,30m",
               "--resolution-deadline", "2h", "--total-timeout", "8s",
               "--endpoint", "charge=https://utility.example/pay")  # fmt: skip
    assert r.exit_code == 0, r.output
    row = sql(
        db_url,
        "SELECT sign_type, key, previous_key, confirm_schedule, resolution_deadline_s,"
        " total_timeout_ms, endpoints FROM biller_connections",
    )[0]
    assert row[1].startswith(PREFIX) and "first-key" not in row[1]  # sealed at rest
    assert (row[0], unseal(row[1]), *row[2:]) == (
        "SHA1", "first-key-0123456", None, [5, 60, 1800], 7200, 8000,
        {"charge": "https://utility.example/pay"},
    )  # fmt: skip

    r = invoke(
        cli, "billers", "update", "RPOWER", "--key", "second-key-0123456", "--reason", "yearly"
    )
    assert r.exit_code == 0, r.output
    keys = sql(db_url, "SELECT key, previous_key FROM biller_connections")[0]
    assert tuple(unseal(k) for k in keys) == ("second-key-0123456", "first-key-0123456")
    invoke(cli, "billers", "update", "RPOWER", "--retire-previous-key")
    assert sql(db_url, "SELECT previous_key FROM biller_connections")[0] == (None,)
    logged = str(sql(db_url, "SELECT details, before, after FROM audit_log"))
    assert "first-key" not in logged and "second-key" not in logged  # keys never reach the log
    assert "key rotated" in logged


def test_remote_registration_refusals(cli: CliRunner) -> None:
    for extra, message in [
        ((), "needs --url, --key and --sign-type"),
        (("--url", "http://utility.example", "--key", "k" * 12, "--sign-type", "SHA1"), "https"),
        (("--url", "https://u.example", "--key", "short", "--sign-type", "SHA1"), "8 characters"),
        (("--url", "https://u.example", "--key", "k" * 12, "--sign-type", "SHA1",
          "--confirm-schedule", "5x"), "positive number with a unit"),
        (("--url", "https://u.example", "--key", "k" * 12, "--sign-type", "SHA1",
          "--endpoint", "pay=https://u.example/p"), "query|charge|confirm|refund"),
    ]:  # fmt: skip
        r = invoke(cli, *REMOTE, *extra)
        assert r.exit_code == 1, (extra, r.output)
        assert message in r.output, r.output


def test_the_statement_file(cli: CliRunner, db_url: URL, tmp_path: Path) -> None:
    invoke(cli, "channels", "add", "WECHAT", "--secret", "cli-wechat-secret-0123456789")
    invoke(cli, "billers", "add", "BJWATER", "--name", "w", "--category", "water",
           "--mode", "hosted", "--account-rule", r"\d{10}")  # fmt: skip
    sql(
        db_url,
        "INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,"
        " account_no, amount, bill_nos, status, receipt_no, biller_serial, created_at,"
        " finished_at) VALUES (1, 'P1', 1, 'O1', '\\x00', 'p', '0112345678', 12345, '{B1}',"
        " 'SUCCEEDED', 'R1', 'H1', '2026-11-01 01:30:12+00', '2026-11-01 01:30:12+00')",
    )
    out = tmp_path / "statement.txt"
    r = invoke(cli, "statement", "BJWATER", "2026-11-01", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == (
        b"H|BJWATER|20261101|1|12345\nD|P1|H1|0112345678|12345|WECHAT|20261101093012|SUCCESS\n"
    )
    r = invoke(cli, "statement", "BJWATER", "2999-01-01", "--out", str(out))
    assert r.exit_code == 1 and "has not ended" in r.output


def test_exceptions_are_listed_and_resolved_with_a_reason(cli: CliRunner, db_url: URL) -> None:
    invoke(cli, "channels", "add", "WECHAT", "--secret", "cli-wechat-secret-0123456789")
    invoke(cli, *REMOTE, "--url", "https://u.example", "--key", "k" * 12, "--sign-type", "SHA1")
    sql(
        db_url,
        "INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer,"
        " account_no, amount, bill_nos, status, created_at, resolution)"
        " VALUES (1, 'P9', 1, 'O9', '\\x00', 'p', '0112345678', 500, '{B9}', 'PROCESSING',"
        " now(), 'EXCEPTION')",
        "INSERT INTO bill_claims VALUES (1, 'B9', 'P9', now(), NULL)",
        "INSERT INTO payment_exceptions (biller_id, payment_id, reason, opened_at)"
        " VALUES (1, 'P9', 'refund refused: 8001 signature invalid', now())",
    )
    listed = invoke(cli, "exceptions", "list")
    assert "P9" in listed.output and "8001" in listed.output
    r = invoke(cli, "exceptions", "resolve", "1", "--outcome", "WRITTEN_OFF",
               "--reason", "checked")  # fmt: skip
    assert r.exit_code == 1 and "serial" in r.output  # a write-off needs the utility's serial
    r = invoke(cli, "exceptions", "resolve", "1", "--outcome", "not_written_off",
               "--reason", "utility (Zhao) says the order never arrived")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "FAILED" in r.output
    assert sql(db_url, "SELECT status, failure_code FROM payments")[0] == (
        "FAILED",
        "NOT_WRITTEN_OFF",
    )
    assert sql(db_url, "SELECT released_at IS NOT NULL FROM bill_claims")[0] == (True,)
    assert sql(db_url, "SELECT resolved_by, note FROM payment_exceptions")[0] == (
        "ops-alice", "utility (Zhao) says the order never arrived"
    )  # fmt: skip
    assert invoke(cli, "exceptions", "list").output.strip() == "no open exceptions"

"""The ``utilipay`` command against the test database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.conftest import _settings
from tests.helpers import HEADER, bill_line
from tests.tools.test_demo_console import my_account
from utilipay.cli.main import app
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url
from utilipay.staff.roles import Role


@pytest.fixture
def cli(db_url: URL, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-alice")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> Any:
    return cli.invoke(app, list(args), catch_exceptions=False)


def sql(db_url: URL, *statements: str) -> list[Any]:
    """Run statements over a synchronous connection (these tests run outside the event loop)."""
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows: list[Any] = []
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return rows


def test_registering_partners_and_importing_bills(
    cli: CliRunner, tmp_path: Path, db_url: URL
) -> None:
    r = invoke(cli, "channels", "add", "WECHAT", "--secret", "cli-wechat-secret-0123456789")
    assert r.exit_code == 0, r.output
    r = invoke(
        cli,
        "billers", "add", "BJWATER",
        "--name", "北京自来水", "--category", "water", "--mode", "hosted",
        "--account-rule", r"(0[1-9]|25)\d{8}",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke(
        cli,
        "billers", "add", "BJWATER_DC",
        "--name", "东城分公司", "--category", "water", "--mode", "hosted",
        "--account-rule", r"\d{10}", "--parent", "BJWATER",
    )  # fmt: skip
    assert r.exit_code == 0, r.output

    good = tmp_path / "bills.csv"
    good.write_text(HEADER + bill_line("B1") + "\n" + bill_line("B2") + "\n")
    r = invoke(cli, "bills", "import", str(good))
    assert r.exit_code == 0, r.output
    assert "2 bills added" in r.output

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + bill_line("B3") + "\n" + bill_line("B4", amount=0) + "\n")
    r = invoke(cli, "bills", "import", str(bad))
    assert r.exit_code == 1
    assert "line 3: amount 0" in r.output
    assert "nothing imported" in r.output

    r = invoke(cli, "check")
    assert r.exit_code == 0, r.output
    assert "FAILED" not in r.output

    actions = sql(db_url, "SELECT actor, action, object_id FROM audit_log")
    assert set(actions) == {
        ("ops-alice", "channel.add", "WECHAT"),
        ("ops-alice", "biller.add", "BJWATER"),
        ("ops-alice", "biller.add", "BJWATER_DC"),
    }


def test_a_billers_auto_pay_rules(cli: CliRunner, db_url: URL) -> None:
    r = invoke(
        cli,
        "billers", "add", "BJWATER", "--name", "北京自来水", "--category", "water",
        "--mode", "hosted", "--account-rule", r"\d{10}",
        "--autopay-default-cap", "20000", "--autopay-max-cap", "30000", "--debit-notice", "0",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke(cli, "billers", "update", "BJWATER", "--autopay-poll-every", "6h",
               "--debit-notice", "30m")  # fmt: skip
    assert r.exit_code == 0, r.output
    rules = (
        "SELECT mandate_default_cap, mandate_max_cap, mandate_poll_s, debit_notice_s FROM billers"
    )
    assert sql(db_url, rules) == [(20000, 30000, 6 * 3600, 1800)]
    r = invoke(cli, "billers", "update", "BJWATER", "--autopay-default-cap", "40000")
    assert r.exit_code == 1
    assert "the default cap 40000 fen is above the maximum cap 30000 fen" in r.output
    assert sql(db_url, rules) == [(20000, 30000, 6 * 3600, 1800)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("channels", "add", "WECHAT", "--secret", "short"), "at least 16"),
        (("channels", "add", "we chat", "--secret", "x" * 20), "2-32 characters"),
        (
            ("channels", "add", "WX", "--secret", "x" * 20, "--webhook-url", "http://evil.com"),
            "https",
        ),
        (
            ("billers", "add", "X1", "--name", "n", "--category", "water", "--mode", "hosted",
             "--account-rule", "([0-9]"),
            "not a regex",
        ),
        (
            ("billers", "add", "X1", "--name", "n", "--category", "water", "--mode", "hosted",
             "--account-rule", "[0-9]+", "--parent", "NOPE"),
            "no parent biller NOPE",
        ),
        (("bills", "import", "/no/such/file.csv"), "cannot read"),
    ],
)  # fmt: skip
def test_refusals_are_messages_with_exit_code_1(
    cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    r = invoke(cli, *args)
    assert r.exit_code == 1
    assert message in r.output


def test_a_bills_file_is_refused_with_every_bad_line_read_or_checked(
    cli: CliRunner, tmp_path: Path, db_url: URL
) -> None:
    invoke(cli, "billers", "add", "BJWATER", "--name", "北京自来水", "--category", "water",
           "--mode", "hosted", "--account-rule", r"(0[1-9]|25)\d{8}")  # fmt: skip
    first = tmp_path / "first.csv"
    first.write_text(HEADER + bill_line("B1") + "\n")
    assert invoke(cli, "bills", "import", str(first)).exit_code == 0
    bad = [
        bill_line("B2", amount=0),  # line 2: unreadable
        bill_line("B3").replace("BJWATER", "NOPE"),  # 3: an unknown biller
        bill_line("B1", amount=99),  # 4: B1 with other content
        bill_line("B4", account="9912345678"),  # 5: fails the account rule
        bill_line("B5"),  # 6: good, and still not imported
        *(bill_line(f"Z{n}", amount=0) for n in range(150)),  # lines 7-156
    ]
    file = tmp_path / "bad.csv"
    file.write_text(HEADER + "\n".join(bad) + "\n")
    r = invoke(cli, "bills", "import", str(file))
    assert r.exit_code == 1
    output = r.output.replace("\n", " ")
    assert "154 bad line(s), nothing imported" in output
    for expected in (
        "line 2: amount 0 must be", "line 3: unknown biller NOPE",
        "line 4: bill B1 exists with different content",
        "line 5: account 9912345678 fails BJWATER's account rule", "line 102: amount 0",
    ):  # fmt: skip
        assert expected in output
    assert "line 103:" not in output and "… and 54 more" in output
    assert sql(db_url, "SELECT bill_no, amount FROM bills") == [("B1", 12345)]


def test_a_rate_limit_of_0_means_none_on_adding_as_on_updating(cli: CliRunner, db_url: URL) -> None:
    secret = "cli-wechat-secret-0123456789"
    r = invoke(cli, "channels", "add", "WECHAT", "--secret", secret, "--rate-limit", "0")
    assert r.exit_code == 0, r.output
    assert sql(db_url, "SELECT rate_limit FROM channels") == [(None,)]
    assert invoke(cli, "channels", "update", "WECHAT", "--rate-limit", "50").exit_code == 0
    assert sql(db_url, "SELECT rate_limit FROM channels") == [(50,)]
    assert invoke(cli, "channels", "update", "WECHAT", "--rate-limit", "0").exit_code == 0
    assert sql(db_url, "SELECT rate_limit FROM channels") == [(None,)]
    for command in (("add", "ALIPAY", "--secret", secret), ("update", "WECHAT")):
        r = invoke(cli, "channels", *command, "--rate-limit", "-1")
        assert r.exit_code == 1
        assert "rate limit -1: give 1 to 1,000,000 requests per second, or 0 for none" in r.output
    assert sql(db_url, "SELECT code, rate_limit FROM channels") == [("WECHAT", None)]


def test_check_exits_non_zero_on_broken_books(cli: CliRunner, db_url: URL) -> None:
    invoke(cli, "channels", "add", "WECHAT", "--secret", "cli-wechat-secret-0123456789")
    sql(
        db_url,
        "SET session_replication_role = replica",
        "INSERT INTO journal_entries (biller_id, kind, created_at) VALUES (1, 'PAYMENT', now())",
    )
    r = invoke(cli, "check", "--json")
    assert r.exit_code == 1
    assert '"ok": false' in r.output
    assert "entry 1/1: 0 postings" in r.output


_DEMO_USER = re.compile(r"│ (\w+)\s+│ (demo-[a-z]+)\s+│ (\S+)\s+│")
_CONSOLE = re.compile(r"Operator console: (http://\S+)/console/")
_PAYER_PAGES = re.compile(r"Payer pages \(H5\) as the demo payer \S+: open (http://\S+)")


def _run_demo_then_sign_in(
    env: dict[str, str],
) -> tuple[subprocess.CompletedProcess[str], int, str]:
    """``utilipay demo --keep-running``: once it serves, each demo user it printed signs in
    to the console over HTTP, and the payer pages open from the address it printed; then
    Ctrl-C stops it. The run, how many signed in, and the payer pages' first page."""
    # stderr in a file, read at the end: a pipe nobody reads might fill and stall the demo
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "utilipay", "demo", "--keep-running"],
            env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
        watchdog = threading.Timer(300, child.kill)
        watchdog.start()
        assert child.stdout is not None
        lines = []
        while (line := child.stdout.readline()) and "Ctrl-C stops it" not in line:
            lines.append(line)
        shown = "".join(lines)
        signed_in, payer_page = 0, ""
        if (found := _CONSOLE.search(shown)) is not None:
            signed_in = asyncio.run(_sign_in_each(found.group(1), _DEMO_USER.findall(shown)))
        if (opening := _PAYER_PAGES.search(shown)) is not None:
            payer_page = httpx.get(opening.group(1), follow_redirects=True, timeout=30).text
        child.send_signal(signal.SIGINT)
        rest, _ = child.communicate(timeout=60)
        watchdog.cancel()
        errors.seek(0)
        logged = errors.read()
    done = subprocess.CompletedProcess(child.args, child.returncode, shown + line + rest, logged)
    return done, signed_in, payer_page


async def _sign_in_each(base_url: str, people: list[tuple[str, str, str]]) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for _role, name, password in people:
            me = await my_account(http, name, password)
            assert me.status_code == 200 and name in me.text
    return len(people)


def test_the_demo_runs_end_to_end(db_url: URL, engine: AsyncEngine) -> None:
    """The README's main job, as a user runs it: a real server on a real port, left
    serving (``--keep-running``) for the console's demo users to sign in."""
    env = dict(os.environ)
    if not env.get("UTILIPAY_DATABASE_URL"):
        env["UTILIPAY_HOME"] = str(_settings().home)
    done, signed_in, payer_page = _run_demo_then_sign_in(env)
    assert signed_in == len(Role), done.stdout + done.stderr
    assert "我的户号" in payer_page and "0112345678" in payer_page, payer_page
    assert "stopping the hub" in done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✗" not in done.stdout
    assert done.stdout.count("✓") == 39  # with the binding verified by its holder's name (§13)
    assert "SUCCEEDED" in done.stdout.split("The worker asked the utility")[1]
    # auto-pay: the card declines, the balance pays, the bill is written off, the payer is told
    autopay = done.stdout.split("signs auto-pay")[1]
    assert "debit from card-6222: DECLINED" in autopay
    assert "debit from balance: SUCCEEDED" in autopay
    assert '"order_id": "D' in autopay.split("The write-off")[1]
    assert "已自动缴费98.70元" in autopay.replace("\n", "").replace("│", "").replace(" ", "")
    # smart payment: warned, cut, the meter disconnected, restored by a top-up
    prepaid = autopay.split("Smart payment")[1]
    assert "│ CUT     │ disconnected │" in prepaid
    assert "meter E-0099 is connected" in prepaid
    flat = prepaid.replace("\n", "").replace("│", "").replace(" ", "")
    assert "已低于提醒金额20.00元" in flat and "停止供电" in flat and "正在自动恢复供电" in flat
    # the front line: a receipt printed, refusals, a void, a voucher, a forwarded payment
    front = done.stdout.split("The front line")[1].split("Day end")[0]
    assert "大写: 人民币玖拾元整" in front and "FLOAT_INSUFFICIENT" in front
    assert '"status": "VOIDED"' in front and '"credit": 4000' in front
    assert '"forwarded": true' in front and '"difference": -50' in front
    # day end: the wallet's lost order is the one break, left for a person; all three settled.
    # The auto-pay debit is taken at the next working morning's 07:00: today's when the demo
    # runs before 07:00 of a working day in Shanghai, then it is in the day end's figures.
    day_end = done.stdout.split("Day end")[1]
    day = re.search(r"settlement of (\d{4}-\d{2}-\d{2})", done.stdout)
    debit = re.search(r'"order_id": "D\d+".*?"finished_at": "(\d{4}-\d{2}-\d{2})', autopay)
    assert day is not None and debit is not None
    same_day = debit.group(1) == day.group(1)
    assert f"│ MATCHED         │ {5 + same_day}       │" in day_end
    assert "│ CHANNEL_ONLY    │ 1       │" in day_end
    assert "opened for a person" in day_end.replace("\n", " ")
    queue = day_end.split("the exceptions queue")[1]
    assert "CHANNEL_ONLY" in queue and "WX-LOST-0001" in queue
    # the water utility: the wallet's payments, the shop's and the collector's, the bill the
    # voucher paid (and the auto-pay debit when it is the same day); 6 bp, at least 0.10 yuan
    # each, none on the voucher's
    figures = "484.05 │ 0.00    │ 0.42 │ 483.63" if same_day else "385.35 │ 0.00    │ 0.32 │ 385.03"
    assert f"│ BJWATER │ SETTLED │ 0.00           │ {figures} │" in day_end
    assert "BJWATER,2026-" in day_end and ",TOTAL," in day_end
    assert "FAILED" not in done.stdout and "GAVE_UP" not in done.stdout


def test_a_refusal_before_a_commands_transaction_is_an_error_line_not_a_traceback(
    db_url: URL, engine: AsyncEngine
) -> None:
    """Options checked before the command reaches the database (a duration here) are refused
    like everything else: one line and exit 1, through the installed entry point."""
    env = {**os.environ, "UTILIPAY_DATABASE_URL": libpq_url(db_url)}
    done = subprocess.run(
        [sys.executable, "-m", "utilipay", "billers", "update", "BJWATER",
         "--autopay-poll-every", "xyz"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "error: duration 'xyz' must be a positive number" in done.stderr
    assert "Traceback" not in done.stderr and "DomainError" not in done.stderr

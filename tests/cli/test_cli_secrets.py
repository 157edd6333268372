"""Secrets reach commands from a file, standard input, the environment or a generator, never
only from the command line (where ``ps`` and shell history show them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from tests.cli.test_cli import cli, sql  # noqa: F401 (the cli fixture)
from utilipay.cli.main import app
from utilipay.security.sealing import unseal

SECRET = "file-wechat-secret-0123456789"
WARNING = "shows in ps and shell history"


def run(cli: CliRunner, *args: str, **kwargs: Any) -> Any:  # noqa: F811
    return cli.invoke(app, list(args), catch_exceptions=False, **kwargs)


def stored(db_url: URL, query: str) -> list[str]:
    return [unseal(value) for (value,) in sql(db_url, query) if value is not None]


def channel_secrets(db_url: URL) -> list[str]:
    return stored(
        db_url, "SELECT secret FROM channels UNION ALL SELECT previous_secret FROM channels"
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "wechat.secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def test_a_secret_from_a_file_stdin_or_the_environment_and_no_warning(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    secret_file: Path,
) -> None:
    r = run(cli, "channels", "add", "WECHAT", "--secret-file", str(secret_file))
    assert r.exit_code == 0, r.output
    r = run(cli, "channels", "add", "ALIPAY", "--secret", "-", input="stdin-secret-0123456789\n")
    assert r.exit_code == 0, r.output
    r = run(
        cli, "channels", "add", "UNION", env={"UTILIPAY_CHANNEL_SECRET": "env-secret-0123456789"}
    )
    assert r.exit_code == 0, r.output
    assert WARNING not in r.output
    assert sorted(channel_secrets(db_url)) == sorted(
        [SECRET, "stdin-secret-0123456789", "env-secret-0123456789"]
    )


def test_a_generated_secret_is_printed_once_and_stored(cli: CliRunner, db_url: URL) -> None:  # noqa: F811
    r = run(cli, "channels", "add", "WECHAT", "--generate-secret")
    assert r.exit_code == 0, r.output
    printed = re.search(r"generated secret \(shown only now, keep it safe\): (\S+)", r.output)
    assert printed is not None and len(printed[1]) >= 40
    assert channel_secrets(db_url) == [printed[1]]
    listed = run(cli, "channels", "list")
    assert printed[1] not in listed.output


def test_a_literal_secret_still_works_with_a_warning(cli: CliRunner, db_url: URL) -> None:  # noqa: F811
    r = run(cli, "channels", "add", "WECHAT", "--secret", SECRET)
    assert r.exit_code == 0, r.output
    assert WARNING in " ".join(r.output.split())
    assert channel_secrets(db_url) == [SECRET]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--secret", SECRET, "--generate-secret"), "give one of --secret, --generate-secret"),
        (("--secret-file", "/no/such/file"), "cannot read /no/such/file"),
        ((), "give the secret: --secret-file PATH, --secret - (standard input), "
             "$UTILIPAY_CHANNEL_SECRET or --generate-secret"),
    ],
)  # fmt: skip
def test_no_secret_or_two_of_them_are_refused(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    args: tuple[str, ...],
    message: str,
) -> None:
    r = run(cli, "channels", "add", "WECHAT", *args)
    assert r.exit_code == 2
    assert message in " ".join(r.output.replace("│", " ").split())
    assert sql(db_url, "SELECT code FROM channels") == []


def test_rotations_take_a_secret_only_when_asked(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    secret_file: Path,
    tmp_path: Path,
) -> None:
    run(cli, "channels", "add", "WECHAT", "--secret-file", str(secret_file))
    left_set = {"UTILIPAY_CHANNEL_SECRET": "env-secret-0123456789"}
    r = run(cli, "channels", "update", "WECHAT", "--rate-limit", "5", env=left_set)
    assert r.exit_code == 0, r.output
    assert channel_secrets(db_url) == [SECRET]  # the variable left set rotated nothing
    r = run(cli, "channels", "update", "WECHAT", "--secret", "-", input="next-secret-0123456789")
    assert r.exit_code == 0, r.output
    assert channel_secrets(db_url) == ["next-secret-0123456789", SECRET]

    key_file = tmp_path / "biller.key"
    key_file.write_text("first-key-0123456\n")
    r = run(cli, "billers", "add", "RPOWER", "--name", "远程电力", "--category", "electricity",
            "--mode", "remote", "--account-rule", r"\d{10}", "--url", "https://u.example/bp",
            "--key-file", str(key_file), "--sign-type", "HMAC-SHA256")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(cli, "billers", "update", "RPOWER", "--generate-key")
    assert r.exit_code == 0, r.output
    new_key = r.output.split("keep it safe): ")[1].split()[0]
    keys = (
        "SELECT key FROM biller_connections UNION ALL SELECT previous_key FROM biller_connections"
    )
    assert sorted(stored(db_url, keys)) == sorted([new_key, "first-key-0123456"])

    r = run(cli, "billers", "add", "BJPOWER", "--name", "北京电力", "--category", "electricity",
            "--mode", "hosted", "--account-rule", r"\d{10}")  # fmt: skip
    head_end = tmp_path / "head-end.secret"
    head_end.write_text("head-end-secret-0123456789")
    r = run(cli, "head-end", "set", "BJPOWER", "--url", "https://he.example.com",
            "--secret-file", str(head_end))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert stored(db_url, "SELECT secret FROM head_ends") == ["head-end-secret-0123456789"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("channel-sim", "$UTILIPAY_CHANNEL_SIM_SECRET"),
        ("head-end-sim", "$UTILIPAY_HEAD_END_SIM_SECRET"),
        ("biller-sim", "$UTILIPAY_BILLER_SIM_KEY"),
    ],
)
def test_the_simulators_need_their_secret_and_name_where_it_comes_from(
    command: str, message: str
) -> None:
    r = CliRunner().invoke(app, [command])
    assert r.exit_code == 2
    assert message in " ".join(r.output.replace("│", " ").split())

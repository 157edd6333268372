"""``utilipay reminders …``: support changes an account's reminders, operations a utility's
defaults and overdue schedule; bad options are refused and change nothing."""

from __future__ import annotations

import json

from sqlalchemy.engine import URL
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (the cli fixture)
from tests.conftest import WATER_RULE

ACCOUNT = "0112345678"


def _water(cli: CliRunner) -> None:  # noqa: F811
    added = invoke(cli, "billers", "add", "BJWATER", "--name", "北京自来水", "--category",
                   "water", "--mode", "hosted", "--account-rule", WATER_RULE)  # fmt: skip
    assert added.exit_code == 0, added.output


def test_an_account_s_choice_over_its_utility_s_defaults(cli: CliRunner, db_url: URL) -> None:  # noqa: F811
    _water(cli)
    defaults = invoke(cli, "reminders", "defaults", "--biller", "BJWATER", "--days-before", "5",
                      "--means", "sms,email", "--overdue-days", "15,1,7", "--json")  # fmt: skip
    assert defaults.exit_code == 0, defaults.output
    assert json.loads(defaults.stdout) == {
        "biller": "BJWATER",
        "defaults": {"kinds": None, "days_before": 5, "means": ["sms", "email"]},
        "overdue_days": [1, 7, 15],
    }
    chosen = invoke(cli, "reminders", "set", "--biller", "BJWATER", "--account", ACCOUNT,
                    "--kinds", "overdue", "--means", "inherit", "--reason", "by phone")  # fmt: skip
    assert chosen.exit_code == 0, chosen.output
    assert "in_force: kinds=overdue, days_before=5, means=sms,email" in chosen.stdout
    shown = json.loads(
        invoke(cli, "reminders", "show", "--biller", "BJWATER", "--account", ACCOUNT,
               "--json").stdout
    )  # fmt: skip
    assert shown["chosen"] == {"kinds": ["overdue"], "days_before": None, "means": None}
    assert shown["in_force"] == {"kinds": ["overdue"], "days_before": 5, "means": ["sms", "email"]}
    audited = sql(db_url, "SELECT actor, action, reason FROM audit_log"
                          " WHERE action LIKE 'reminders.%' ORDER BY id")  # fmt: skip
    assert [tuple(r) for r in audited] == [
        ("ops-alice", "reminders.defaults_changed", ""),
        ("ops-alice", "reminders.account_changed", "by phone"),
    ]


def test_bad_options_are_refused_and_change_nothing(cli: CliRunner, db_url: URL) -> None:  # noqa: F811
    _water(cli)
    for args, says in (
        (["set", "--biller", "BJWATER", "--account", ACCOUNT, "--kinds", "weekly"], "kinds.0"),
        (["set", "--biller", "BJWATER", "--account", ACCOUNT, "--days-before", "soon"],
         "a number or 'inherit'"),
        (["set", "--biller", "BJWATER", "--account", "12", "--days-before", "2"],
         "does not fit"),
        (["set", "--biller", "NOPE", "--account", ACCOUNT, "--days-before", "2"], "NOPE"),
        (["defaults", "--biller", "BJWATER", "--overdue-days", "0,7"], "between 1 and 365"),
        (["defaults", "--biller", "BJWATER", "--overdue-days", "a week"], "numbers like"),
    ):  # fmt: skip
        refused = invoke(cli, "reminders", *args)
        assert refused.exit_code != 0 and says in refused.output, (args, refused.output)
    assert sql(db_url, "SELECT count(*) FROM reminder_choices")[0][0] == 0
    assert sql(db_url, "SELECT count(*) FROM reminder_defaults")[0][0] == 0

"""``utilipay reports analysis``: its refusals, before anything is made or kept.

Making one needs the collection service's ``build_report`` (issue 13, merged beside this
command); the made analysis is tested in ``tests/collection/test_analysis.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (the cli fixture)


def test_bad_arguments_are_refused_and_nothing_is_kept(
    cli: CliRunner,  # noqa: F811
    db_url: URL,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    wrong_file = invoke(cli, "reports", "analysis", "--biller", "BJWATER", "--month",
                        "2026-11", "--out", "a.docx")  # fmt: skip
    assert wrong_file.exit_code == 2 and "must end in .pdf or .xlsx" in wrong_file.output
    wrong_month = invoke(cli, "reports", "analysis", "--biller", "BJWATER", "--month", "11/2026")
    assert wrong_month.exit_code == 2 and "is not YYYY-MM" in wrong_month.output
    no_utility = invoke(cli, "reports", "analysis", "--biller", "NOPE", "--month", "2026-11")
    assert no_utility.exit_code == 1 and "no utility NOPE" in no_utility.output
    assert sql(db_url, "SELECT count(*) FROM collection_analyses") == [(0,)]
    assert not list(tmp_path.iterdir())

"""The fault campaign (``utilipay chaos``), slow: run with ``python3 dev.py test -m slow``.

It runs on an embedded PostgreSQL of its own (it crashes the server once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_fault_campaign_loses_nothing_and_makes_nothing_twice(
    server_tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "UTILIPAY_DATABASE_URL"}
    env["UTILIPAY_HOME"] = str(server_tmp_path / "home")
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "utilipay", "chaos", "--payments", "1500", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = json.loads(done.stdout[done.stdout.index("{\n") :])
    assert done.returncode == 0, report
    assert report["passed"] is True
    assert report["worker_kills"] >= 1 and report["database_restarts"] == 1
    assert all(count > 0 for count in report["faults_injected"].values())
    # final payments, the utility's write-offs, utilipay check, the statement, the floats
    assert [v["passed"] for v in report["verdicts"]] == [True] * 5
    assert "PROCESSING" not in json.dumps(report["outcomes"])

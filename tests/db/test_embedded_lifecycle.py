"""The embedded PostgreSQL stops when the last hub process exits, however the others ended;
``utilipay db status|stop`` show and stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from utilipay.db import embedded

UTILIPAY = str(Path(sys.executable).with_name("utilipay"))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    if embedded.status(home).pid is not None:  # whatever the test left running
        embedded.stop(home)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "UTILIPAY_DATABASE_URL"}
    return {**env, "UTILIPAY_HOME": str(home), "COLUMNS": "200"}


def utilipay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own entry point)
        [UTILIPAY, *args], env=environment(home), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def start_worker(home: Path) -> subprocess.Popen[bytes]:
    with (home.parent / "worker.log").open("ab") as log:  # what it said, if it hangs
        worker = subprocess.Popen(  # noqa: S603 (our own entry point)
            [UTILIPAY, "worker"], env=environment(home), stdout=log, stderr=log,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while worker.pid not in [pid for pid, _ in embedded.status(home).users]:
        assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.2)
    return worker


def test_the_last_process_to_exit_stops_the_server_whoever_died_before(home: Path) -> None:
    worker = start_worker(home)
    refused = utilipay(home, "db", "stop")
    assert refused.returncode == 1
    assert f"hub processes use it ({worker.pid}): stop them first, or --force" in refused.stderr
    shown = utilipay(home, "db", "status").stdout
    assert "embedded PostgreSQL: running" in shown and f"used by {worker.pid}:" in shown

    worker.send_signal(signal.SIGKILL)  # no exit handler runs: it stays listed
    worker.wait(timeout=30)
    assert embedded.status(home).pid is not None
    listed = utilipay(home, "channels", "list")
    assert listed.returncode == 0, listed.stderr
    assert embedded.status(home).pid is None  # the last one out stopped it

    worker = start_worker(home)
    worker.send_signal(signal.SIGTERM)
    try:
        # 0 once it runs (passes finished), 143 while it starts: both through its exit handlers
        assert worker.wait(timeout=60) in (0, 128 + signal.SIGTERM)
    except subprocess.TimeoutExpired:
        worker.kill()
        pytest.fail("SIGTERM did not stop the worker:\n" + (home.parent / "worker.log").read_text())
    assert embedded.status(home).pid is None
    assert utilipay(home, "db", "status").stdout.startswith("embedded PostgreSQL: stopped")


def test_db_stop_stops_a_server_left_by_a_killed_process(home: Path) -> None:
    worker = start_worker(home)
    forced = utilipay(home, "db", "stop", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "embedded PostgreSQL stopped" in forced.stdout
    assert embedded.status(home).pid is None
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    again = utilipay(home, "db", "stop")
    assert (again.returncode, again.stdout.strip()) == (0, "embedded PostgreSQL: not running")

"""The embedded PostgreSQL stops when the last hub process exits, however the others ended;
``utilipay db status|stop`` show and stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from utilipay.db import embedded

UTILIPAY = str(Path(sys.executable).with_name("utilipay"))


@pytest.fixture
def home(server_tmp_path: Path) -> Path:
    return server_tmp_path / "home"


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "UTILIPAY_DATABASE_URL"}
    return {**env, "UTILIPAY_HOME": str(home), "COLUMNS": "200"}


def utilipay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own entry point)
        [UTILIPAY, *args], env=environment(home), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def spawn_worker(home: Path) -> subprocess.Popen[bytes]:
    with (home.parent / "worker.log").open("ab") as log:  # what it said, if it hangs
        return subprocess.Popen(  # noqa: S603 (our own entry point)
            [UTILIPAY, "worker"], env=environment(home), stdout=log, stderr=log,
        )  # fmt: skip


def exit_code_after_sigterm(home: Path, worker: subprocess.Popen[bytes]) -> int:
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=30)  # reaped: no warning that it still runs, in a later test
        pytest.fail("SIGTERM did not stop the worker:\n" + (home.parent / "worker.log").read_text())


def start_worker(home: Path) -> subprocess.Popen[bytes]:
    worker = spawn_worker(home)
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
    # 0 once it runs (passes finished), 143 while it starts: both through its exit handlers
    assert exit_code_after_sigterm(home, worker) in (0, 128 + signal.SIGTERM)
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


@pytest.mark.parametrize("after_seconds", [0.0, 0.5, 1.0, 2.0, 4.0])
def test_a_stop_signal_at_any_moment_of_start_up_stops_the_worker(
    home: Path, after_seconds: float
) -> None:
    """A signal while the worker imports, connects or starts its loop is not lost (it
    once landed in a finaliser, which swallowed the exit, and the worker ran on). Before
    the command's handlers exist (Python still importing) the default one ends it: -15."""
    worker = spawn_worker(home)
    time.sleep(after_seconds)
    assert exit_code_after_sigterm(home, worker) in (0, 128 + signal.SIGTERM, -signal.SIGTERM)


# Starts (or joins) the server of a home, connects, and queries only once every starter is
# connected: a restart by another starter after this one was handed the server breaks it.
STARTER = """
import os, sys, time
from pathlib import Path
import psycopg
from utilipay.db import embedded
home, ready, starters = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
with psycopg.connect(host=embedded.embedded_socket_dir(home), user="postgres") as conn:
    (ready / str(os.getpid())).touch()
    deadline = time.monotonic() + 90
    while len(list(ready.iterdir())) < starters and time.monotonic() < deadline:
        time.sleep(0.05)
    print(conn.execute("SHOW max_connections").fetchone()[0])
"""


def start_and_connect(home: Path, ready: Path, starters: int) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (this interpreter, our own code)
        [sys.executable, "-c", STARTER, str(home), str(ready), str(starters)],
        env=environment(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_processes_starting_a_new_server_at_once_all_get_it_ready(
    home: Path, tmp_path: Path
) -> None:
    """As the workers of ``pytest -n`` do: each gets the server with its settings, and no
    restart to apply them comes after any of them was handed it."""
    ready = tmp_path / "ready"
    ready.mkdir()
    starters = [start_and_connect(home, ready, 3) for _ in range(3)]
    said = [starter.communicate(timeout=180) for starter in starters]
    outcomes = [(s.returncode, out.strip()) for s, (out, _) in zip(starters, said, strict=True)]
    assert outcomes == [(0, "200")] * 3, "\n".join(err for _, err in said)

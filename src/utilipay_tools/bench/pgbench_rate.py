"""pgbench's TPC-B-like transaction at a fixed rate (``--rate``): the database's own tail
latency at the offered rate, on the same server, as a baseline for ``bench latency``.

With ``--rate`` pgbench schedules transactions (a Poisson process) instead of sending the
next when the last ends, and logs each one's schedule lag: its latency from the scheduled
start is that lag plus its run time, as the open-model generator's is from the due time.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from utilipay.db.embedded import embedded_bin
from utilipay_tools.bench.openloop import percentiles

CLIENTS = 16


def _logged(directory: Path) -> tuple[list[int], list[int]]:
    """Each transaction's run time and schedule lag (µs), from pgbench's per-transaction
    logs: ``client transaction time script epoch epoch_us lag``."""
    run_times: list[int] = []
    lags: list[int] = []
    for log in directory.glob("pgbench.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            run_times.append(int(fields[2]))
            lags.append(int(fields[6]))
    return run_times, lags


def run(conninfo: str, rate: int, seconds: int) -> dict[str, Any]:
    """pgbench at ``rate`` transactions a second for ``seconds``, summarised as the
    open-model generator summarises its runs."""
    with tempfile.TemporaryDirectory(prefix="utilipay-pgbench-") as tmp:
        command = [
            str(embedded_bin("pgbench")), "-n", "-c", str(CLIENTS), "-j", "2",
            "-T", str(seconds), "--rate", str(rate), "-l", "--log-prefix", f"{tmp}/pgbench",
            conninfo,
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        run_times, lags = _logged(Path(tmp))
    return {
        "offered_rate": rate,
        "requests": len(run_times),
        "answered": len(run_times),
        "status_errors": 0,  # pgbench exits non-zero on a failed transaction
        "socket_errors": 0,
        "duration_us": seconds * 1_000_000,
        "schedule_us": seconds * 1_000_000,
        "latency": percentiles([t + lag for t, lag in zip(run_times, lags, strict=True)]),
        "service": percentiles(run_times),
        "lag": percentiles(lags),
        "generator_cpu_seconds": 0.0,  # pgbench's own, not measured
    }

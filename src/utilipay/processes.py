"""Running the hub's own processes as children (benchmarks, the fault campaign)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from sqlalchemy.engine import URL

from utilipay.config import Settings
from utilipay.db.engine import libpq_url


def environment_for(settings: Settings, url: URL) -> dict[str, str]:
    """The environment that points a child process at ``url``'s database."""
    env = dict(os.environ)
    if settings.database_url:
        env["UTILIPAY_DATABASE_URL"] = libpq_url(url)
    elif url.database:
        env["UTILIPAY_HOME"] = str(settings.home)
        env["UTILIPAY_DATABASE_NAME"] = url.database
    return env


def start_api(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the channel API; returns once every worker answers /healthz."""
    command = [
        sys.executable, "-m", "uvicorn", "utilipay.api.app:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)  # noqa: S603 (our own interpreter and module)
    deadline = time.monotonic() + 60
    healthy = 0
    while healthy < 3 * workers:
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("the hub server did not start")
        try:
            healthy += httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)
    return server


def start_worker(env: dict[str, str], concurrency: int = 4) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "utilipay", "worker", "--concurrency", str(concurrency)]
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

"""Running the hub's own processes as children (benchmarks, the fault campaign)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from multiprocessing.context import SpawnProcess

import httpx
import uvicorn
from sqlalchemy.engine import URL

from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db.engine import create_engine, database_url, libpq_url
from utilipay.runtime.sizing import max_connections, serve_processes
from utilipay.security.sealing import key_spec
from utilipay.web.protocol import HubHttpProtocol
from utilipay_tools.channelsim.app import create_app as create_channel_sim
from utilipay_tools.channelsim.simulator import ChannelSimConfig

# what ``utilipay serve`` runs: httptools, each response in one write (as uvicorn's --http)
SERVE_PROTOCOL = f"{HubHttpProtocol.__module__}:{HubHttpProtocol.__qualname__}"


def environment_for(settings: Settings, url: URL) -> dict[str, str]:
    """The environment that points a child process at ``url``'s database, with this
    process's key to the secrets sealed in it."""
    env = dict(os.environ)
    env["UTILIPAY_SECRETS_KEY"] = key_spec()
    if settings.database_url:
        env["UTILIPAY_DATABASE_URL"] = libpq_url(url)
    elif url.database:
        env["UTILIPAY_HOME"] = str(settings.home)
        env["UTILIPAY_DATABASE_NAME"] = url.database
    return env


def serve_workers(settings: Settings) -> int:
    """The server processes ``utilipay serve`` starts with no ``--workers`` on this machine
    and database (``runtime.sizing.serve_processes``)."""
    # the embedded server's own database: the hub's may not be made yet
    url = database_url(settings, None if settings.database_url else "postgres")

    async def limit() -> int:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return await max_connections(conn)
        finally:
            await engine.dispose()

    return serve_processes(settings, url, asyncio.run(limit()))


def start_api(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the channel API; returns once every worker answers /healthz."""
    command = [
        sys.executable, "-m", "uvicorn", "utilipay.web.app:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", SERVE_PROTOCOL,
    ]  # fmt: skip
    # A benchmark's load would flood the terminal with access-log lines; what a line costs
    # (about 12 µs a request) is measured apart.
    quiet = {**env, "UTILIPAY_ACCESS_LOG": "false"}
    server = subprocess.Popen(command, env=quiet)  # noqa: S603 (our own interpreter and module)
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


def start_worker(
    env: dict[str, str], concurrency: int = 4, stdout: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """``utilipay worker`` as a child; ``stdout=subprocess.PIPE`` to watch it say it runs."""
    command = [sys.executable, "-m", "utilipay", "worker", "--concurrency", str(concurrency)]
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command, env=env, stdout=stdout, stderr=subprocess.DEVNULL
    )


def _serve_channel_sim(port: int, secret: str, now: datetime) -> None:
    config = ChannelSimConfig(secret=secret)
    app = create_channel_sim(config, clock=FrozenClock(now))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_channel_sim(port: int, secret: str, now: datetime) -> SpawnProcess:
    """The channel simulator in a process of its own, its clock stopped at ``now`` (the hub's
    signatures carry the hub's time); every debit succeeds. Returns once it accepts connections.
    """
    sim = multiprocessing.get_context("spawn").Process(
        target=_serve_channel_sim, args=(port, secret, now), daemon=True
    )
    sim.start()
    try:
        wait_until_listening(port, sim.is_alive, "the channel simulator")
    except RuntimeError:
        sim.kill()
        raise
    return sim


def wait_until_listening(port: int, alive: Callable[[], bool], what: str) -> None:
    """Return once a process started a moment ago accepts connections on ``port``; refuse
    once it has died or 30 s have passed (the caller stops it)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if not alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)

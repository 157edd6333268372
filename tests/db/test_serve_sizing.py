"""``utilipay serve`` with no ``--workers``: one server process per usable CPU, as long as
their pools stay within half the database's connections."""

from __future__ import annotations

import os

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.config import Settings
from utilipay.runtime.sizing import default_workers, max_connections, pools_warning, usable_cpus


def test_one_process_per_cpu_while_the_pools_fit() -> None:
    assert default_workers(cpus=2, max_connections=200, pool_size=8) == 2
    assert default_workers(cpus=8, max_connections=200, pool_size=8) == 8


def test_the_database_connections_cap_the_processes_and_one_always_starts() -> None:
    # 64 CPUs, but half of 200 connections holds 12 pools of 8
    assert default_workers(cpus=64, max_connections=200, pool_size=8) == 12
    assert default_workers(cpus=4, max_connections=10, pool_size=8) == 1


def test_the_usable_cpus_are_this_process_affinity() -> None:
    assert usable_cpus() == len(os.sched_getaffinity(0))


async def test_the_embedded_server_takes_the_default_pools_of_every_cpu(
    conn: AsyncConnection,
) -> None:
    limit = await max_connections(conn)
    pool = Settings().pool_size
    assert limit == 200  # the embedded server's setting (db/embedded.py)
    workers = default_workers(usable_cpus(), limit, pool)
    assert workers * pool <= limit // 2
    assert pools_warning(workers, limit, pool) is None


def test_too_many_processes_asked_for_are_warned_of() -> None:
    warning = pools_warning(workers=16, max_connections=200, pool_size=8)
    assert warning is not None and "= 128, more than half" in warning

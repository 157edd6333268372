"""Where the database is, and connections to it.

``database_url()`` resolves the URL once per process: ``UTILIPAY_DATABASE_URL``
when set, otherwise the embedded server (started on demand) with the database
``UTILIPAY_DATABASE_NAME`` created if missing.
"""

from __future__ import annotations

import re

import asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from utilipay.config import Settings
from utilipay.db.embedded import embedded_socket_dir

ASYNC_DRIVER = "postgresql+asyncpg"


def database_url(settings: Settings, database: str | None = None) -> URL:
    """The asyncpg URL of the hub's database (or of ``database`` on the same server)."""
    if settings.database_url:
        url = make_url(settings.database_url).set(drivername=ASYNC_DRIVER)
    else:
        socket_dir = embedded_socket_dir(settings.home)
        url = URL.create(
            ASYNC_DRIVER,
            username="postgres",
            database=settings.database_name,
            query={"host": socket_dir},
        )
    if database is not None:
        url = url.set(database=database)
    return url


def libpq_url(url: URL) -> str:
    """The same URL for libpq tools (psql, pgbench) and psycopg."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: URL, *, pool_size: int = 8, pre_ping: bool = False) -> AsyncEngine:
    """``pre_ping`` checks a pooled connection before use: one round trip per checkout, which
    background work can afford and which spares it errors after a database restart. The API's
    hot path does without; a request that meets a dead connection gets a 503 and is retried."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=pre_ping,
        # Each request or job is one explicit transaction; nothing autocommits by accident.
        connect_args={"server_settings": {"application_name": "utilipay", "timezone": "UTC"}},
    )


def _checked_name(url: URL) -> str:
    name = url.database or ""
    if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ValueError(f"database name {name!r} must be 1-63 letters, digits or _")
    return name


async def ensure_database(url: URL) -> None:
    """Create the database named in ``url`` if the server does not have it yet."""
    name = _checked_name(url)
    admin = url.set(database="postgres")
    conn = await asyncpg.connect(_asyncpg_dsn(admin), **_asyncpg_kwargs(admin))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: URL) -> None:
    name = _checked_name(url)
    admin = url.set(database="postgres")
    conn = await asyncpg.connect(_asyncpg_dsn(admin), **_asyncpg_kwargs(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)


def _asyncpg_kwargs(url: URL) -> dict[str, str]:
    host = url.query.get("host")
    return {"host": host} if isinstance(host, str) else {}


async def raw_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """asyncpg's own connection under SQLAlchemy's, for calls that bypass its layers."""
    return (await conn.get_raw_connection()).driver_connection

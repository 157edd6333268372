"""Alembic, driven from code: ``utilipay db upgrade`` and the test suite both call this."""

from __future__ import annotations

import asyncio

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from utilipay.clock import SystemClock
from utilipay.db.engine import create_engine, ensure_database
from utilipay.errors import DomainError
from utilipay.tariffs.service import LoadReport, load_tariffs

SHIPPED_BY = "utilipay db upgrade"  # who the audit log says loaded the shipped tariffs
log = structlog.get_logger()


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", "utilipay:migrations")
    config.attributes["url"] = url
    return config


def upgrade(url: URL, revision: str = "head") -> LoadReport | None:
    """Create the database if needed and bring its schema to ``revision``; at the head, load
    the tariffs shipped with this version (new versions of them too), so that they are there
    from the first start. Returns what the tariffs load did (``None`` below the head)."""
    asyncio.run(ensure_database(url))
    command.upgrade(alembic_config(url), revision)
    return asyncio.run(_load_shipped_tariffs(url)) if revision == "head" else None


async def _load_shipped_tariffs(url: URL) -> LoadReport:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await load_tariffs(conn, SystemClock(), None, SHIPPED_BY)
    except DomainError as exc:
        # An operator's own version of a shipped tariff wins: the hub must still start.
        log.warning("tariffs.shipped_not_loaded", reason=exc.detail)
        return LoadReport()
    finally:
        await engine.dispose()


def downgrade(url: URL, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)

"""Bringing a database to this version of the hub: ``utilipay db upgrade``, the embedded
server's first use, and the test suite all call ``upgrade``."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.engine import URL

from utilipay.clock import SystemClock
from utilipay.db.engine import create_engine
from utilipay.db.migrate import upgrade_schema
from utilipay.errors import DomainError
from utilipay.tariffs.service import LoadReport, load_tariffs

SHIPPED_BY = "utilipay db upgrade"  # who the audit log says loaded the shipped tariffs
log = structlog.get_logger()


def upgrade(url: URL, revision: str = "head") -> LoadReport | None:
    """Create the database if needed and bring its schema to ``revision``; at the head, load
    the tariffs shipped with this version (new versions of them too), so that they are there
    from the first start. Returns what the tariffs load did (``None`` below the head)."""
    upgrade_schema(url, revision)
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

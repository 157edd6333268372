"""Telling every hub process that reference data (channels, billers) changed.

A change is announced with ``NOTIFY`` in the changing transaction, so it arrives only
after commit; each process's directory listens on ``CHANGES`` and reloads.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHANGES = "utilipay_directory"


async def announce_change(conn: AsyncConnection) -> None:
    """Tell every server process to reload once this transaction commits."""
    await conn.execute(text(f"NOTIFY {CHANGES}"))

"""Who did what, when and why: every manual or administrative action is recorded.

Where an action changes something, ``before`` and ``after`` hold the values it changed
(never a secret: a rotated key is recorded as rotated, not as its value).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.tables import audit_log
from utilipay.clock import Clock


async def record(
    conn: AsyncConnection,
    clock: Clock,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            details=details or {},
            before=before,
            after=after,
            at=clock.now(),
        )
    )

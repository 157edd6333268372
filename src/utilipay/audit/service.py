"""Who did what, when and why: every manual or administrative action is recorded."""

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
) -> None:
    await conn.execute(
        insert(audit_log).values(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            details=details or {},
            at=clock.now(),
        )
    )

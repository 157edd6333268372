"""Two workers' passes over the same due work, while a third worker holds the first rows
locked: what each background sender's sharing test runs and checks (issue 15: the
senders' shape). The passes must share the work, pass the locked rows by rather than wait
for them, and send nothing twice; a later pass then sends the rows that were locked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.common.passes import Pass

LOCKED = 10  # rows the third worker holds


async def beside_a_locker(
    engine: AsyncEngine, table: str, passes: Sequence[Callable[[], Awaitable[Pass]]]
) -> list[Pass]:
    """``passes`` run at once while the first ``LOCKED`` rows of ``table`` are locked by
    another connection (a timeout, not a hang, if a pass waits for them)."""
    async with engine.connect() as third:
        await third.execute(
            text(f"SELECT id FROM {table} ORDER BY id LIMIT :n FOR UPDATE"),
            {"n": LOCKED},
        )
        done = await asyncio.wait_for(asyncio.gather(*(run() for run in passes)), timeout=30)
        await third.rollback()
    return list(done)


def assert_shared(passes: Sequence[Pass], last: Pass, sent: str, total: int) -> None:
    """Both passes worked some, together they sent all but the locked rows, each counted as
    ``sent``, and the ``last`` pass sent the locked ones."""
    assert [p.attempted > 0 for p in passes] == [True, True]
    assert sum(p.results.get(sent, 0) for p in passes) == total - LOCKED
    assert last.results == {sent: LOCKED}


async def assert_recorded_once(
    engine: AsyncEngine, table: str, attempts: str, status: str, total: int
) -> None:
    """Every row of ``table`` has ``status`` after one attempt, and ``attempts`` logged
    exactly one a row."""
    async with engine.connect() as conn:
        settled = await conn.execute(
            text(f"SELECT status, attempts, count(*) FROM {table} GROUP BY 1, 2")
        )
        assert [tuple(r) for r in settled] == [(status, 1, total)]
        logged = await conn.execute(text(f"SELECT count(*) FROM {attempts}"))
        assert logged.scalar_one() == total

"""A day's payments kept as a Parquet file: a run reads it while PostgreSQL's rows of the
day are what it holds, and reads PostgreSQL once any has changed, or the file has."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.conftest import channel, water
from tests.recon.test_recon_columnar import _comparable, _day
from tests.recon.test_recon_run import D, at, payment, run
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.recon import payments_file
from utilipay.recon.columnar import NOT_KEPT, Kept


async def _keep(engine: AsyncEngine, kept: Kept) -> payments_file.KeptDay:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            return await payments_file.keep(conn, D, kept, datetime.now(UTC))


async def _runs(engine: AsyncEngine, clock: FrozenClock, kept: Kept) -> tuple[str, bool]:
    """Where a run read the payments from, and whether it found what PostgreSQL gives."""
    from_files = await run(engine, clock, kept=kept)
    same = _comparable(from_files) == _comparable(await run(engine, clock, kept=NOT_KEPT))
    return from_files.run["sources"]["payments_read_from"], same


async def test_a_run_reads_the_days_payments_from_their_file_while_they_are_unchanged(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], tmp_path: Path
) -> None:
    kept = Kept.under(tmp_path)
    await _day(engine, clock, world, kept)
    assert (await run(engine, clock, kept=kept)).run["sources"]["payments_read_from"] == (
        "postgresql"  # none kept yet
    )
    taken = await _keep(engine, kept)
    assert taken.written
    assert taken.fingerprint.rows == 11  # every payment of the widest window, of every biller
    assert await _runs(engine, clock, kept) == ("kept file", True)
    # kept again, unchanged: the file kept stands, nothing is written beside it
    files = sorted(kept.directory.iterdir())
    again = await _keep(engine, kept)
    assert (again.written, again.fingerprint) == (False, taken.fingerprint)
    assert sorted(kept.directory.iterdir()) == files
    scopes: list[dict[str, Any]] = [
        {"channel": "WECHAT"},
        {"biller": "SHPOWER"},
        {"biller": "BJWATER"},
    ]
    for scope in scopes:
        scoped = await run(engine, clock, kept=kept, **scope)
        assert scoped.run["sources"]["payments_read_from"] == "kept file"
        assert _comparable(scoped) == _comparable(await run(engine, clock, kept=NOT_KEPT, **scope))


async def test_a_payment_changed_or_added_since_or_an_altered_file_sends_the_run_to_postgresql(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], tmp_path: Path
) -> None:
    kept = Kept.under(tmp_path)
    await _day(engine, clock, world, kept)
    await _keep(engine, kept)
    before = _comparable(await run(engine, clock, kept=kept))
    # the short payment is voided after the day: its row changes, the fingerprint with it
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE payments SET status = 'VOIDED' WHERE order_id = 'W-SHORT'"))
    with capture_logs() as logs:
        assert await _runs(engine, clock, kept) == ("postgresql", True)
    assert "recon.payments_changed_since_kept" in [e["event"] for e in logs]
    assert _comparable(await run(engine, clock, kept=NOT_KEPT)) != before  # the file was stale
    # kept again, it stands for the day as it is now
    await _keep(engine, kept)
    assert await _runs(engine, clock, kept) == ("kept file", True)
    # a payment of the day finished since (the channel's long order, booked late)
    async with engine.begin() as conn:
        await payment(conn, water(world).id, channel(world, "wechat").id, "W-LONG", 600,
                      finished=at(D, "10:30:00"))  # fmt: skip
    assert await _runs(engine, clock, kept) == ("postgresql", True)
    taken = await _keep(engine, kept)
    async with engine.connect() as conn:
        sha256 = await conn.scalar(
            text("SELECT sha256 FROM recon_payment_files WHERE fingerprint = :f"),
            {"f": str(taken.fingerprint)},
        )
    kept.path(sha256).write_bytes(b"PAR1 not the file")
    with capture_logs() as logs:
        assert await _runs(engine, clock, kept) == ("postgresql", True)
    said = [e for e in logs if e["event"] == "recon.read_from_postgresql"]
    assert len(said) == 1 and "SHA-256 differs" in said[0]["why"]
    # kept again, the altered file does not stand: it is written anew
    assert (await _keep(engine, kept)).written
    assert await _runs(engine, clock, kept) == ("kept file", True)


async def test_keeping_payments_needs_one_snapshot(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.begin() as conn:  # READ COMMITTED: each statement its own snapshot
        with pytest.raises(DomainError, match="REPEATABLE READ"):
            await payments_file.keep(conn, D, Kept.under(tmp_path), datetime.now(UTC))

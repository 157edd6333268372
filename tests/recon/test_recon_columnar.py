"""Statements kept as Parquet files at import: a run reads them and classifies exactly as
from PostgreSQL; a file that is missing, altered or short is not used, and the run says so.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.conftest import channel, water
from tests.recon.test_recon_run import (
    BREAK_LINES,
    D,
    at,
    breaks_of_each_kind,
    payment,
    remote_biller,
    run,
    statement,
)
from tests.recon.test_recon_sources_import import sample
from utilipay.clock import FrozenClock
from utilipay.recon import columnar
from utilipay.recon.columnar import NOT_KEPT, Kept
from utilipay.recon.service import RunReport
from utilipay.recon.statements import import_statement

NEXT = D + timedelta(days=1)


async def _day(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], kept: Kept
) -> None:
    """A day with a break of each kind, a record carried to D+1, a line of D-1 near
    midnight and a remote biller matched three ways; every statement kept."""
    b, wx = water(world).id, channel(world, "wechat").id
    power = (await remote_biller(engine, clock)).id
    async with engine.begin() as conn:
        await breaks_of_each_kind(conn, b, wx)
        await payment(conn, b, wx, "W-LATE", 1000, finished=at(D, "23:59:50"))
        await payment(conn, b, wx, "W-EARLY", 60, finished=at(D, "00:00:20"))
        ok = await payment(conn, power, wx, "R-OK", 100, finished=at(D, "08:00"))
        await payment(conn, power, wx, "R-MISSING", 200, finished=at(D, "08:10"))
        failed = await payment(conn, power, wx, "R-FAILED", 400, "FAILED", at(D, "08:30"))
        imports = [
            await statement(conn, "channel", "WECHAT", D, [
                *BREAK_LINES,
                ("R-OK", 100, "PAID", at(D, "08:00")),
                ("R-MISSING", 200, "PAID", at(D, "08:10")),
            ]),
            await statement(conn, "channel", "WECHAT", NEXT, [
                ("W-LATE", 1000, "PAID", at(NEXT, "00:00:10")),
                ("W-NEXT", 70, "PAID", at(NEXT, "09:00")),  # outside the window: not read
            ]),
            await statement(conn, "channel", "WECHAT", D - timedelta(days=1), [
                ("W-EARLY", 60, "PAID", at(D - timedelta(days=1), "23:59:55")),
            ]),
            await statement(conn, "biller", "SHPOWER", D, [
                (ok, 100, "PAID", at(D, "08:00:01"), "WECHAT"),
                (failed, 400, "PAID", at(D, "08:30:01"), "WECHAT"),
                ("P-NEVER-SEEN", 900, "PAID", at(D, "08:50"), "WECHAT"),
            ]),
        ]  # fmt: skip
        for import_id in imports:
            assert await columnar.keep(conn, import_id, kept)


def _comparable(report: RunReport) -> dict[str, Any]:
    """What a run found, without what names the run itself."""
    own = {"run_id", "item_no", "idempotency_key"}
    records = [{k: v for k, v in b.items() if k not in own} for b in report.breaks]
    fixes = [{k: v for k, v in c.items() if k not in own} for c in report.corrections]
    key = repr
    return {
        "counts": report.run["counts"],
        "records": report.run["records"],
        "breaks": sorted(records, key=key),
        "corrections": sorted(fixes, key=key),
    }


def _read_from_each(report: RunReport) -> list[str]:
    return [s["read_from"] for s in report.run["sources"]["statements"]]


def _read_from(report: RunReport) -> set[str]:
    return set(_read_from_each(report))


async def test_a_run_reads_the_kept_files_and_finds_what_postgresql_gives(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], tmp_path: Path
) -> None:
    kept = Kept.under(tmp_path)
    await _day(engine, clock, world, kept)
    from_postgresql = await run(engine, clock, kept=NOT_KEPT)
    from_files = await run(engine, clock, kept=kept)
    assert _read_from(from_postgresql) == {"postgresql"}
    assert _read_from(from_files) == {"kept file"}
    assert _comparable(from_files) == _comparable(from_postgresql)
    # the day has something of each kind, so the comparison could fail
    assert from_files.run["counts"] == {
        "MATCHED": 4, "CHANNEL_ONLY": 2, "HUB_ONLY": 1, "AMOUNT_MISMATCH": 1,
        "STATUS_MISMATCH": 3, "DUPLICATE": 1, "CARRIED": 1,
    }  # fmt: skip
    # one channel, one biller: the files are filtered as PostgreSQL filters the lines
    for scope in ({"channel": "WECHAT"}, {"biller": "SHPOWER"}, {"cutoff": timedelta(0)}):
        assert _comparable(await run(engine, clock, kept=kept, **scope)) == _comparable(
            await run(engine, clock, kept=NOT_KEPT, **scope)
        )


async def test_a_missing_altered_or_short_file_is_not_used(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], tmp_path: Path
) -> None:
    kept = Kept.under(tmp_path)
    await _day(engine, clock, world, kept)
    expected = _comparable(await run(engine, clock, kept=NOT_KEPT))
    the_day = "FROM statement_imports WHERE business_date = :d AND party = 'channel'"
    async with engine.connect() as conn:
        sha256 = await conn.scalar(text(f"SELECT columnar_sha256 {the_day}"), {"d": D})
    path = kept.path(sha256)
    original = path.read_bytes()
    other = tmp_path / "other.parquet"  # the same lines less one
    duckdb.execute(f"COPY (FROM '{path}' WHERE order_id <> 'W-SHORT') TO '{other}'")

    async def falls_back(why: str) -> None:
        with capture_logs() as logs:
            report = await run(engine, clock, kept=kept)
        assert _comparable(report) == expected
        said = [e for e in logs if e["event"] == "recon.read_from_postgresql"]
        assert len(said) == 1 and why in said[0]["why"], said
        assert sorted(_read_from_each(report)) == [
            "kept file", "kept file", "kept file", "postgresql",
        ]  # fmt: skip
        path.write_bytes(original)

    path.unlink()
    await falls_back("is missing")
    path.write_bytes(other.read_bytes())
    await falls_back("SHA-256 differs")
    path.write_bytes(original[:-100])
    await falls_back("SHA-256 differs")
    # the file is the one kept, the import says it has another number of lines
    more = (
        "UPDATE statement_imports SET line_count = line_count + :n"
        f" WHERE id IN (SELECT id {the_day})"
    )
    async with engine.begin() as conn:
        await conn.execute(text(more), {"d": D, "n": 1})
    await falls_back("does not hold the 11 rows kept")
    async with engine.begin() as conn:
        await conn.execute(text(more), {"d": D, "n": -1})
    assert _read_from(await run(engine, clock, kept=kept)) == {"kept file"}


async def test_an_import_keeps_a_channels_lines_not_a_banks(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object], tmp_path: Path
) -> None:
    kept = Kept.under(tmp_path)
    async with engine.begin() as conn:
        trade = await import_statement(
            conn, clock, sample("tradebill_ALL_v3_sample.csv"), file_name="trade.csv",
            actor="ops", party_code="WECHAT", kept=kept,
        )  # fmt: skip
        bank = await import_statement(
            conn, clock, sample("camt053.v2.multi.statement.xml"), file_name="camt.xml",
            actor="ops", kept=kept,
        )  # fmt: skip
    async with engine.connect() as conn:
        imports = await conn.execute(text("SELECT id, columnar_sha256 FROM statement_imports"))
        sha256: dict[int, str | None] = {row.id: row.columnar_sha256 for row in imports}
        stored = (await conn.execute(text(
            "SELECT line_no, order_id, amount, status, channel_code, business_date"
            " FROM statement_lines WHERE import_id = :i ORDER BY line_no"), {"i": trade.import_id},
        )).all()  # fmt: skip
    assert sha256[bank.import_id] is None  # a bank's statement is not reconciled by a run
    trade_sha256 = sha256[trade.import_id]
    assert trade_sha256 is not None
    files = [p.name for p in kept.directory.iterdir()]
    assert files == [f"{trade_sha256}.parquet"]  # nothing left of the writing
    in_file = duckdb.execute(
        "SELECT line_no, order_id, amount, status, channel_code, business_date"
        f" FROM '{kept.path(trade_sha256)}' ORDER BY line_no"
    ).fetchall()
    assert in_file == [tuple(row) for row in stored] and len(in_file) == trade.line_count > 0

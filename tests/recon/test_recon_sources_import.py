"""Importing statements into PostgreSQL: every format into the normalized tables, all or
nothing, once per file; a file that disagrees with itself refused unless accepted, and
then flagged; the ``recon import`` command around it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.conftest import START
from utilipay.cli import recon_import as recon_import_cli
from utilipay.cli.main import app
from utilipay.clock import FrozenClock
from utilipay.common.files import FileRejected
from utilipay.config import get_settings
from utilipay.db.engine import libpq_url
from utilipay.errors import DomainError
from utilipay.recon.sources.common import Kind
from utilipay.recon.sources.generic import layout_from_toml
from utilipay.recon.statement_tables import statement_lines
from utilipay.recon.statements import (
    ImportResult,
    StatementMismatch,
    import_statement,
)

DATA = Path(__file__).parents[1] / "data" / "recon"
IBAN = "NL26VAYB8060476890"
pytestmark = pytest.mark.usefixtures("world")  # channels WECHAT, ALIPAY; biller BJWATER


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


async def run(engine: AsyncEngine, clock: FrozenClock, data: bytes, **options: Any) -> ImportResult:
    options.setdefault("file_name", "statement")
    async with engine.begin() as conn:
        return await import_statement(conn, clock, data, actor="ops-alice", **options)


async def stored(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM statement_imports),"
                    " (SELECT count(*) FROM statement_lines)"
                )
            )
        ).one()
    return row[0], row[1]


async def lines(engine: AsyncEngine, import_id: int) -> list[dict[str, Any]]:
    query = (
        select(statement_lines)
        .where(statement_lines.c.import_id == import_id)
        .order_by(statement_lines.c.line_no)
    )
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def test_a_wechat_bill_imported_once(engine: AsyncEngine, clock: FrozenClock) -> None:
    data = sample("tradebill_ALL_v3_sample.csv")
    first = await run(engine, clock, data, party_code="WECHAT", file_name="trade.csv")
    assert (first.created, first.kind, first.party, first.party_code) == (
        True, "wechat_trade", "channel", "WECHAT"
    )  # fmt: skip
    assert (first.business_date, first.line_count, first.total_amount) == (date(2021, 1, 28), 3, 3)
    assert first.matched
    [line, *_] = await lines(engine, first.import_id)
    assert line == {
        "import_id": first.import_id, "line_no": 2, "order_id": "S20210128170702357723",
        "party_ref": "4200000925202101284997714292", "account_no": None, "amount": 1,
        "currency": "CNY", "status": "PAID", "channel_code": None,
        "occurred_at": datetime(2021, 1, 28, 9, 7, 11, tzinfo=UTC),
        "business_date": date(2021, 1, 28), "counterparty": None, "bank_ref": None,
        "remittance": None,
    }  # fmt: skip
    again = await run(engine, clock, data, party_code="WECHAT", file_name="trade-copy.csv")
    assert (again.created, again.import_id, again.file_name) == (
        False,
        first.import_id,
        "trade.csv",
    )
    assert await stored(engine) == (1, 3)
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text(
                    "SELECT actor, action, object_id FROM audit_log"
                    " WHERE object_type = 'statement_import'"
                )
            )
        ).all()
    assert [tuple(a) for a in audit] == [("ops-alice", "statement.import", str(first.import_id))]


async def test_a_file_that_disagrees_with_itself_is_refused_unless_accepted(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    data = sample("fundflowbill_BASIC_v3_sample.csv")
    with pytest.raises(StatementMismatch) as excinfo:
        await run(engine, clock, data, party_code="WX1601959334", file_name="flow.csv")
    assert "资金流水总笔数: the file says 3, its lines make 2" in excinfo.value.detail
    assert "--accept-mismatch" in excinfo.value.detail
    assert await stored(engine) == (0, 0)
    flagged = await run(engine, clock, data, party_code="WX1601959334", accept_mismatch=True)
    assert (flagged.created, flagged.kind, flagged.matched) == (True, "wechat_fundflow", False)
    assert (flagged.party, flagged.business_date) == ("bank", date(2021, 2, 1))
    assert flagged.summary["accepted_by"] == "ops-alice"
    assert [c["what"] for c in flagged.summary["checks"] if not c["ok"]] == [
        "资金流水总笔数", "收入笔数", "收入金额"
    ]  # fmt: skip
    assert flagged.summary["declared"]["资金流水总笔数"] == "3"
    assert flagged.total_amount == -2
    assert await stored(engine) == (1, 2)


async def test_camt053_statements_with_their_balances(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    multi = await run(engine, clock, sample("camt053.v2.multi.statement.xml"))
    assert (multi.party, multi.party_code, multi.business_date) == (
        "bank",
        IBAN,
        date(2014, 12, 31),
    )
    assert (multi.line_count, multi.total_amount, multi.matched) == (2, 185, True)
    rows = await lines(engine, multi.import_id)
    assert [(r["status"], r["amount"], r["currency"], r["party_ref"]) for r in rows] == [
        ("CREDIT", 885, "EUR", "000000001"), ("DEBIT", 700, "EUR", "000000002")
    ]  # fmt: skip
    with pytest.raises(
        StatementMismatch, match=r"CLBD: the file says -27\.00, its lines make 27\.00"
    ):
        await run(engine, clock, sample("camt053.v2.minimal.xml"))
    minimal = await run(engine, clock, sample("camt053.v2.minimal.xml"), accept_mismatch=True)
    assert not minimal.matched and minimal.line_count == 1
    assert await stored(engine) == (2, 3)


async def test_mt940_and_a_named_account(engine: AsyncEngine, clock: FrozenClock) -> None:
    sber = await run(engine, clock, sample("sberbank_171011_01234945.sta"))
    assert (sber.kind, sber.party_code, sber.line_count, sber.matched) == (
        "mt940", "1966315302010001", 3, True
    )  # fmt: skip
    with pytest.raises(FileRejected, match="several accounts"):
        await run(engine, clock, sample("jejik_rabobank.sta"))
    rabo = await run(  # its balances do not add up: the sample is made up
        engine, clock, sample("jejik_rabobank.sta"), party_code="1291.99.348EUR",
        accept_mismatch=True,
    )  # fmt: skip
    assert rabo.party_code == "1291.99.348EUR" and rabo.business_date is None  # several days
    with pytest.raises(FileRejected, match="30 February 2016"):
        await run(engine, clock, sample("self-provided_february_30.sta"))
    assert (await stored(engine))[0] == 2


async def test_the_biller_statement_is_the_billers_own(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    data = sample("biller_BJWATER_20261121.txt")
    with pytest.raises(DomainError, match="BJWATER's, not SHPOWER's"):
        await run(engine, clock, data, party_code="SHPOWER")
    with pytest.raises(DomainError, match="statement of 2026-11-21, not of 2026-11-20"):
        await run(engine, clock, data, business_date=date(2026, 11, 20))
    with pytest.raises(DomainError, match="no biller SHPOWER"):
        await run(engine, clock, data.replace(b"H|BJWATER", b"H|SHPOWER"))
    result = await run(engine, clock, data)
    assert (result.party, result.party_code, result.business_date) == (
        "biller", "BJWATER", date(2026, 11, 21)
    )  # fmt: skip
    assert result.total_amount == 13040
    rows = await lines(engine, result.import_id)
    assert [(r["status"], r["channel_code"], r["account_no"]) for r in rows][-1] == (
        "REVERSED", "WECHAT", "0112345678"
    )  # fmt: skip


async def test_a_bad_file_imports_nothing(engine: AsyncEngine, clock: FrozenClock) -> None:
    data = sample("biller_BJWATER_20261121.txt").replace(b"|8040|", b"|80.40|")
    with pytest.raises(FileRejected) as excinfo:
        await run(engine, clock, data)
    assert [(e.line, e.message) for e in excinfo.value.errors] == [
        (4, "amount '80.40' is not a whole number of fen")
    ]
    assert await stored(engine) == (0, 0)


async def test_whose_statement_it_is_must_be_known(engine: AsyncEngine, clock: FrozenClock) -> None:
    data = sample("alipay_detail_20261121.csv")
    with pytest.raises(DomainError, match="give the channel code"):
        await run(engine, clock, data)
    with pytest.raises(DomainError, match="no channel UNIONPAY"):
        await run(engine, clock, data, party_code="UNIONPAY")
    layout = layout_from_toml((DATA / "generic_bank_layout.toml").read_text())
    bank = sample("generic_bank_20261121.csv")
    with pytest.raises(DomainError, match="give the account"):
        await run(engine, clock, bank, kind=Kind.GENERIC_CSV, layout=layout)
    result = await run(
        engine, clock, bank, kind=Kind.GENERIC_CSV, layout=layout, party_code="0200004509200012345"
    )
    assert (result.kind, result.party, result.line_count, result.total_amount) == (
        "generic_csv", "bank", 3, 35700
    )  # fmt: skip
    assert await stored(engine) == (1, 3)


async def test_the_same_file_imported_at_once_twice_is_one_import(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    data = sample("alipay_detail_20261121.csv")
    results = await asyncio.gather(
        *(run(engine, clock, data, party_code="ALIPAY") for _ in range(2))
    )
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.import_id for r in results}) == 1
    assert await stored(engine) == (1, 4)


# --- the command ----------------------------------------------------------------------


@pytest.fixture
def cli(db_url: URL, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("UTILIPAY_DATABASE_URL", libpq_url(db_url))
    monkeypatch.setenv("UTILIPAY_ACTOR", "ops-alice")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(recon_import_cli, "clock", FrozenClock(START))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> Any:
    """``utilipay recon import …``, through the hub's command line as installed."""
    return cli.invoke(app, ["recon", "import", *args], catch_exceptions=False)


def test_the_import_command(cli: CliRunner) -> None:
    alipay = str(DATA / "alipay_detail_20261121.csv")
    r = invoke(cli, alipay, "--party-code", "ALIPAY")
    assert r.exit_code == 0, r.output
    assert "alipay_detail of channel ALIPAY for 2026-11-21 imported as #1: 4 lines" in r.output
    assert "ok 交易合计 笔数: file 3, lines 3" in r.output
    r = invoke(cli, alipay, "--party-code", "ALIPAY", "--json")
    body = json.loads(r.output)
    assert (body["ok"], body["created"], body["import_id"], body["line_count"]) == (
        True, False, 1, 4
    )  # fmt: skip
    r = invoke(cli, alipay, "--party-code", "ALIPAY")
    assert "already imported as #1; nothing new" in r.output


def test_the_command_refuses_bad_and_mismatching_files(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "biller.txt"
    bad.write_bytes(sample("biller_BJWATER_20261121.txt").replace(b"|SUCCESS", b"|OK", 1))
    r = invoke(cli, str(bad), "--json")
    assert r.exit_code == 1
    body = json.loads(r.output)
    assert body["errors"] == [{"line": 2, "message": "status 'OK' is not SUCCESS or REVERSED"}]
    flow = str(DATA / "fundflowbill_BASIC_v3_sample.csv")
    r = invoke(cli, flow, "--party-code", "WECHAT")
    assert r.exit_code == 1
    assert "disagrees with itself, nothing imported" in r.output
    r = invoke(cli, flow, "--party-code", "WECHAT", "--json")
    assert json.loads(r.output)["mismatches"][0]["what"] == "资金流水总笔数"
    r = invoke(cli, flow, "--party-code", "WECHAT", "--accept-mismatch")
    assert r.exit_code == 0, r.output
    assert "MISMATCH 资金流水总笔数: file 3, lines 2" in r.output
    assert "imported with a mismatch, accepted by ops-alice" in r.output
    r = invoke(cli, flow, "--party-code", "WECHAT")  # accepted once: the same file is known
    assert r.exit_code == 0 and "already imported as #1; nothing new" in r.output
    r = invoke(cli, str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and "cannot read statement" in r.output


def test_the_command_reads_a_generic_csv_by_its_layout(cli: CliRunner) -> None:
    bank = str(DATA / "generic_bank_20261121.csv")
    layout = str(DATA / "generic_bank_layout.toml")
    r = invoke(cli, bank, "--layout", layout)
    assert r.exit_code == 1 and "--layout goes with --kind generic_csv" in r.output
    r = invoke(cli, bank, "--kind", "generic_csv", "--layout", layout,
               "--party-code", "0200004509200012345", "--date", "2026-11-21")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "generic_csv of bank 0200004509200012345 for 2026-11-21 imported as #1: 3 lines" in (
        r.output
    )


def _big_trade_bill(rows: int) -> bytes:
    """The real sample's header, summary and first line, the line repeated ``rows`` times."""
    header, line, *_, names, _ = sample("tradebill_ALL_v3_sample.csv").decode().splitlines()
    body = [line.replace("S20210128170702357723", f"S{i:020d}") for i in range(rows)]
    total = f"{rows // 100}.{rows % 100:02d}"
    summary = f"`{rows},`{total},`0.00,`0.00,`0.00000,`{total},`0.00"
    return "\n".join([header, *body, names, summary]).encode()


@pytest.mark.slow
async def test_a_big_bill_imports_in_one_go(engine: AsyncEngine, clock: FrozenClock) -> None:
    rows = 200_000
    data = _big_trade_bill(rows)
    seen: list[int] = []
    started = time.perf_counter()
    result = await run(
        engine, clock, data, party_code="WECHAT", progress=lambda _t, done, _n: seen.append(done)
    )
    took = time.perf_counter() - started
    print(f"\n{rows} lines, {len(data) / 1e6:.1f} MB: imported in {took:.1f} s")
    assert (result.line_count, result.total_amount, result.matched) == (rows, rows, True)
    assert seen[-1] == rows and len(seen) > 1  # COPY in chunks, progress after each
    assert await stored(engine) == (1, rows)


async def test_a_channel_statement_for_another_day_says_so(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    data = sample("alipay_detail_20261121.csv")
    result = await run(engine, clock, data, party_code="ALIPAY", business_date=date(2026, 11, 22))
    assert result.business_date == date(2026, 11, 22)
    assert result.summary["notes"] == ["4 line(s) on other days than 2026-11-22, first line 6"]

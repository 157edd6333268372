"""Payouts confirmed by the bank (a camt.053 debit carrying the payout's end-to-end id),
and settlement from the shell and the admin API."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli  # noqa: F401 (the fixture)
from tests.conftest import AdminHeaders
from tests.helpers import audited_actors
from tests.prepaid.test_prepaid_topup import books_hold, events
from tests.settlement.test_settlement import (
    DAY,
    account,
    account_no,
    day_paid,  # noqa: F401 (the fixture)
    rows,
    settle,
)
from utilipay.access.scopes import Scope
from utilipay.cli.main import app
from utilipay.clock import FrozenClock
from utilipay.recon.sources.camt import parse_camt053
from utilipay.settlement import payouts
from utilipay.web.app import create_app

CAMT = Path(__file__).parents[1] / "data" / "recon" / "camt053.v2.minimal.xml"  # a real sample
HUB_ACCOUNT = "NL26VAYB8060476890"  # the sample statement's account: the hub's here


def debit(entry: str, reference: str, amount: str, creditor: str) -> str:
    """The sample's booked entry, turned into the hub's transfer to a utility."""
    return (
        entry.replace('<Amt Ccy="EUR">8.85</Amt>', f'<Amt Ccy="CNY">{amount}</Amt>')
        .replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>DBIT</CdtDbtInd>")
        .replace("<Dt>2014-12-31</Dt>", "<Dt>2026-11-23</Dt>")
        .replace("<Refs>", f"<Refs><EndToEndId>{reference}</EndToEndId>")
        .replace(
            "<CdtrAcct>\n                                <Id>\n"
            "                                    <IBAN>NL56AGDH9619008421</IBAN>",
            f"<CdtrAcct><Id><IBAN>{creditor}</IBAN>",
        )
    )


def bank_statement(*entries: tuple[str, str, str]) -> bytes:
    """The real camt.053 sample with its one entry replaced by these debits."""
    sample = CAMT.read_text()
    start, end = sample.index("<Ntry>"), sample.index("</Ntry>") + len("</Ntry>")
    made = "".join(debit(sample[start:end], *e) for e in entries)
    return (sample[:start] + made + sample[end:]).encode()


async def import_bank(engine: AsyncEngine, data: bytes) -> None:
    """Contract 1: the normalized lines of a bank statement, as the import stores them."""
    parsed = parse_camt053(data, "bank.xml")
    async with engine.begin() as conn:
        import_id = (
            await conn.execute(
                text(
                    "INSERT INTO statement_imports (kind, party, party_code, business_date,"
                    " file_name, sha256, line_count, total_amount, summary, actor, imported_at)"
                    " VALUES ('camt053', 'bank', :code, NULL, 'bank.xml', :sha, :n, 0, '{}',"
                    " 'test', now()) RETURNING id"
                ),
                {
                    "code": parsed.party_code,
                    "sha": hashlib.sha256(data).hexdigest(),
                    "n": len(parsed.lines),
                },
            )
        ).scalar_one()
        for line in parsed.lines:
            await conn.execute(
                text(
                    "INSERT INTO statement_lines (import_id, line_no, party_ref, account_no,"
                    " amount, currency, status, occurred_at, business_date, counterparty)"
                    " VALUES (:i, :n, :ref, :acct, :amount, :ccy, :status, :at, :day, :cp)"
                ),
                {"i": import_id, "n": line.line_no, "ref": line.party_ref,
                 "acct": line.account_no, "amount": line.amount, "ccy": line.currency,
                 "status": line.status, "at": line.occurred_at, "day": line.business_date,
                 "cp": line.counterparty},
            )  # fmt: skip


async def match(engine: AsyncEngine, clock: FrozenClock, hub: str | None) -> list[Any]:
    async with engine.begin() as conn:
        return await payouts.match(conn, clock, hub)


async def test_a_bank_debit_with_the_reference_confirms_the_payout_and_a_wrong_one_is_told(
    engine: AsyncEngine,
    clock: FrozenClock,
    day_paid: int,  # noqa: F811
) -> None:
    await account(engine, clock, "BJWATER")
    await account(engine, clock, "BJPOWER")
    await settle(engine, clock)
    await import_bank(
        engine,
        bank_statement(
            ("STL-BJWATER-20261122", "133.45", account_no("BJWATER")),
            ("STL-BJPOWER-20261122", "4.80", "62220000000001"),
        ),
    )
    assert await match(engine, clock, "SOME-OTHER-ACCOUNT") == []  # not the hub's account
    found = {m.reference: (m.status, m.note) for m in await match(engine, clock, HUB_ACCOUNT)}
    assert found == {
        "STL-BJWATER-20261122": ("CONFIRMED", None),
        "STL-BJPOWER-20261122": (
            "MISMATCH",
            "the bank debited 480 fen, the payout is 488;"
            f" paid to account 62220000000001, not {account_no('BJPOWER')}",
        ),
    }
    confirmed = await rows(engine, "SELECT reference, status, import_id, line_no FROM payouts"
                                   " WHERE status = 'CONFIRMED'")  # fmt: skip
    assert [c.reference for c in confirmed] == ["STL-BJWATER-20261122"]
    assert confirmed[0].line_no > 0
    assert await match(engine, clock, HUB_ACCOUNT) == []  # told once
    assert [e["reference"] for e in await events(engine, "payout.confirmed")] == [
        "STL-BJWATER-20261122"
    ]

    clock.set(datetime(2026, 11, 24, 2, tzinfo=UTC))  # two days on: not overdue yet
    async with engine.connect() as conn:
        assert await payouts.overdue(conn, clock, 3) == []
        clock.set(datetime(2026, 11, 25, 2, tzinfo=UTC))
        (late,) = await payouts.overdue(conn, clock, 3)
    assert (late["reference"], late["status"]) == ("STL-BJPOWER-20261122", "MISMATCH")

    # the right transfer arrives in a later statement: confirmed after all
    await import_bank(engine, bank_statement(("STL-BJPOWER-20261122", "4.88", "X1")))
    (fixed,) = await match(engine, clock, HUB_ACCOUNT)
    assert fixed.status == "MISMATCH"  # to account X1: still not right
    await import_bank(
        engine, bank_statement(("STL-BJPOWER-20261122", "4.88", account_no("BJPOWER")))
    )
    (fixed,) = await match(engine, clock, HUB_ACCOUNT)
    assert (fixed.reference, fixed.status) == ("STL-BJPOWER-20261122", "CONFIRMED")
    await books_hold(engine)


def settle_cli(cli: CliRunner, *args: str) -> Any:  # noqa: F811
    """``utilipay settle …``, through the hub's command line as installed."""
    return cli.invoke(app, ["settle", *args], catch_exceptions=False)


def test_settle_from_the_shell(
    cli: CliRunner,  # noqa: F811
    day_paid: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    r = settle_cli(cli, "account", "BJWATER", "--account-no", "6222000011112222",
                   "--name", "北京自来水集团", "--bank", "工商银行")  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = settle_cli(cli, "fee", "biller", "BJWATER", "--from", "2026-01-01",
                     "--min", "10", "--max", "5")  # fmt: skip
    assert bad.exit_code == 1 and "below minimum" in bad.output
    r = settle_cli(cli, "fee", "biller", "BJWATER", "--from", "2026-01-01", "--rate-bp", "50")
    assert r.exit_code == 0, r.output
    now = "2026-11-23T10:00:00+08:00"
    early = settle_cli(cli, "run", "--date", "2026-11-23", "--now", now)
    assert early.exit_code == 1 and "not over yet" in early.output
    everyone = settle_cli(cli, "run", "--date", "2026-11-22", "--now", now)
    assert everyone.exit_code == 1  # BJPOWER has no account: said, and BJWATER is settled
    assert "BJPOWER: BJPOWER has no settlement account" in everyone.output
    ran = settle_cli(cli, "run", "--date", "2026-11-22", "--now", now, "--json",
                     "--biller", "BJWATER")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    (done,) = json.loads(ran.stdout)["settlements"]
    assert (done["payee"], done["status"], done["fees"], done["net"]) == (
        "BJWATER", "UNCHANGED", 62 + 5, 13345 - 67
    )  # fmt: skip
    shown = json.loads(settle_cli(cli, "show", "--date", "2026-11-22", "--json").stdout)
    assert shown[0]["payout"]["reference"] == "STL-BJWATER-20261122"
    out = tmp_path / "stl.csv"
    r = settle_cli(cli, "export", "--date", "2026-11-22", "--biller", "BJWATER",
               "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (
        out.read_text()
        .splitlines()[1]
        .startswith("BJWATER,2026-11-22,BJWATER,北京自来水,133.45,2,")
    )
    xml = settle_cli(cli, "export", "--date", "2026-11-22", "--biller", "BJWATER",
                 "--format", "xml")  # fmt: skip
    assert "<EndToEndId>STL-BJWATER-20261122</EndToEndId>" in xml.stdout
    missing = settle_cli(cli, "export", "--date", "2026-11-21", "--biller", "BJWATER")
    assert missing.exit_code == 1 and "no settlement paid to BJWATER" in missing.output


@pytest.fixture
async def auth(admin_headers: AdminHeaders) -> dict[str, str]:
    """The headers of the treasurer's token: settles, configures payouts, reads."""
    return await admin_headers(Scope.SETTLEMENT_WRITE, Scope.OPS_READ, name="treasury")


@pytest.fixture
async def admin_http(hub: Any) -> Any:
    """The hub's HTTP app, where the settlement router is mounted."""
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def test_settle_through_the_admin_api(
    admin_http: httpx.AsyncClient,
    auth: dict[str, str],
    engine: AsyncEngine,
    clock: FrozenClock,
    day_paid: int,  # noqa: F811
) -> None:
    put = await admin_http.put(
        "/admin/v1/settlements/accounts/BJWATER", headers=auth,
        json={"account_no": "6222000011112222", "account_name": "北京自来水", "bank": "工行"},
    )  # fmt: skip
    assert put.status_code == 200, put.text
    bad = await admin_http.put(
        "/admin/v1/settlements/fees/biller/BJWATER", headers=auth,
        json={"effective_from": "2026-01-01", "rate_bp": "abc"},
    )  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (400, "MALFORMED_REQUEST")
    fee = await admin_http.put(
        "/admin/v1/settlements/fees/biller/BJWATER", headers=auth,
        json={"effective_from": "2026-01-01", "rate_bp": "10", "fixed": 1},
    )  # fmt: skip
    assert fee.status_code == 200, fee.text
    r = await admin_http.post("/admin/v1/settlements/run", headers=auth,
                              json={"date": "2026-11-22", "biller": "BJWATER"})  # fmt: skip
    assert r.status_code == 200, r.text
    (done,) = r.json()["settlements"]
    # 0.1% and 1 fen a payment: 12.345 + 1 rounds to 13, 1 + 1 is 2
    assert (done["status"], done["fees"], done["net"]) == ("SETTLED", 13 + 2, 13345 - 15)
    got = await admin_http.get("/admin/v1/settlements", params={"date": "2026-11-22"},
                               headers=auth)  # fmt: skip
    assert [s["payee"] for s in got.json()["settlements"]] == ["BJWATER"]
    csv = await admin_http.get("/admin/v1/settlements/BJWATER/2026-11-22/file", headers=auth)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.count("\n") == 3
    xml = await admin_http.get("/admin/v1/settlements/BJWATER/2026-11-22/file",
                               params={"format": "xml"}, headers=auth)  # fmt: skip
    assert xml.headers["content-type"] == "application/xml"
    nobody = await admin_http.get("/admin/v1/settlements", params={"date": "2026-11-22"})
    assert nobody.status_code == 401
    today = await admin_http.post("/admin/v1/settlements/run", headers=auth,
                                  json={"date": "2026-11-23"})  # fmt: skip
    assert (today.status_code, today.json()["code"]) == (409, "NOT_READY")
    assert date.fromisoformat(got.json()["date"]) == DAY
    for action in ("settlement.account", "settlement.fee", "settlement.settle"):
        assert set(await audited_actors(engine, action)) == {"treasury"}

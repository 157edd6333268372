"""Late-fee rules and waivers through the admin API and ``utilipay late-fees``: checked,
audited, refused with clear errors that write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.cli.test_cli import cli, invoke, sql  # noqa: F401 (cli: the fixture)
from tests.conftest import AdminHeaders
from tests.helpers import HEADER, audited_actors, bill_line, import_bills
from utilipay.access.scopes import Scope
from utilipay.billers import service as billers_service
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.billers.service import RemoteSettings
from utilipay.clock import FrozenClock

RULES = "/admin/v1/billers/BJWATER/late-fee-rules"
BILL = "/admin/v1/billers/BJWATER/bills/B1"
RULE = {"effective_from": "2026-01-01", "effective_to": "2026-12-31", "daily_per_mille": "1",
        "grace_days": 5, "cap_percent": "30", "reason": "price bureau notice"}  # fmt: skip


async def _rule_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM late_fee_rules")) or 0)


async def _overdue_bill(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, headers: AdminHeaders
) -> dict[str, str]:
    """B1, due 2026-11-01 with 30 fen imported, under RULE; the headers of li, who added it."""
    await import_bills(engine, clock, bill_line("B1", amount=10000, late_fee=30, due="2026-11-01"))
    writer = await headers(Scope.CONFIG_WRITE, name="li")
    assert (await http.post(RULES, headers=writer, json=RULE)).status_code == 201
    return writer


async def test_a_rule_is_added_listed_and_an_overlap_is_refused_naming_both(
    http: httpx.AsyncClient, engine: AsyncEngine, world: Any, admin_headers: AdminHeaders
) -> None:
    writer = await admin_headers(Scope.CONFIG_WRITE, name="li")
    r = await http.post(RULES, headers=writer, json=RULE)
    assert r.status_code == 201, r.text
    first = r.json()["rule_id"]
    overlapping = RULE | {"effective_from": "2026-12-01", "effective_to": None}
    r = await http.post(RULES, headers=writer, json=overlapping)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert "the new rule (2026-12-01..open-ended, every class)" in detail
    assert f"rule {first} (2026-01-01..2026-12-31, every class)" in detail
    # the same dates for one class only do not overlap the rule for every class
    r = await http.post(RULES, headers=writer, json=overlapping | {"customer_class": "business"})
    assert r.status_code == 201, r.text
    reader = await admin_headers(Scope.OPS_READ, name="reader")
    listed = (await http.get(RULES, headers=reader)).json()["rules"]
    assert [(x["effective_from"], x["customer_class"]) for x in listed] == [
        ("2026-01-01", None), ("2026-12-01", "business")
    ]  # fmt: skip
    assert await audited_actors(engine, "late_fee_rule.add") == ["li", "li"]


async def test_absurd_rules_are_refused_and_write_nothing(
    http: httpx.AsyncClient, engine: AsyncEngine, world: Any, admin: dict[str, str]
) -> None:
    for bad, words in (
        ({"daily_per_mille": "-1"}, "must be above 0"),
        ({"daily_per_mille": "50"}, "at most 10"),
        ({"daily_per_mille": "one"}, "not a number"),
        ({"daily_per_mille": "0.00001"}, "more than 4 decimals"),
        ({"cap_percent": "150"}, "at most 100%"),
        ({"effective_to": "2025-12-31"}, "before first day"),
        ({"customer_class": "Business!"}, "customer class"),
    ):
        r = await http.post(RULES, headers=admin, json=RULE | bad)
        assert r.status_code in (400, 422), (bad, r.text)
        assert words in r.text, (bad, r.text)
    r = await http.post(RULES, headers=admin, json=RULE | {"grace_days": -1})
    assert r.status_code in (400, 422)
    assert await _rule_count(engine) == 0


async def test_the_fee_shown_and_waived_with_a_reason(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, world: Any,
    admin_headers: AdminHeaders,
) -> None:  # fmt: skip
    # today is 2026-11-22: due 2026-11-01, 21 days overdue, 16 charged after 5 of grace
    writer = await _overdue_bill(http, engine, clock, admin_headers)
    reader = await admin_headers(Scope.OPS_READ, name="reader")
    shown = (await http.get(BILL + "/late-fee", headers=reader)).json()
    assert shown["on"] == "2026-11-22"
    assert (shown["days_overdue"], shown["days_charged"], shown["accrued"]) == (21, 16, 160)
    assert (shown["late_fee"], shown["amount_due"]) == (190, 10190)
    within_grace = (await http.get(BILL + "/late-fee?on=2026-11-06", headers=reader)).json()
    assert (within_grace["accrued"], within_grace["late_fee"]) == (0, 30)

    too_much = await http.post(BILL + "/late-fee-waivers", headers=writer,
                               json={"amount": 191, "reason": "hardship"})  # fmt: skip
    assert too_much.status_code == 400 and "1..190 fen" in too_much.json()["detail"]
    no_reason = await http.post(BILL + "/late-fee-waivers", headers=writer, json={"amount": 5})
    assert no_reason.status_code in (400, 422)
    part = await http.post(BILL + "/late-fee-waivers", headers=writer,
                           json={"amount": 90, "reason": "hardship"})  # fmt: skip
    assert part.status_code == 201 and part.json()["late_fee"] == 100
    whole = await http.post(BILL + "/late-fee-waivers", headers=writer,
                            json={"reason": "meter misread"})  # fmt: skip
    assert whole.json()["late_fee"] == 0 and whole.json()["waived"] == 190
    again = await http.post(BILL + "/late-fee-waivers", headers=writer, json={"reason": "again"})
    assert again.status_code == 400 and "no late fee to waive" in again.json()["detail"]
    async with engine.connect() as conn:
        audited = (
            await conn.execute(
                text(
                    "SELECT reason, details, before, after FROM audit_log"
                    " WHERE action = 'late_fee.waive' ORDER BY id"
                )
            )
        ).all()
    assert [(a.reason, a.details["amount"], a.before, a.after) for a in audited] == [
        ("hardship", 90, {"late_fee": 190}, {"late_fee": 100}),
        ("meter misread", 100, {"late_fee": 100}, {"late_fee": 0}),
    ]


async def test_unknown_bills_and_billers_are_404_and_readers_cannot_waive(
    http: httpx.AsyncClient, world: Any, admin_headers: AdminHeaders
) -> None:
    reader = await admin_headers(Scope.OPS_READ, name="reader")
    r = await http.get("/admin/v1/billers/BJWATER/bills/NOPE/late-fee", headers=reader)
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    assert r.headers["content-type"] == "application/problem+json"
    r = await http.get("/admin/v1/billers/NOPE/late-fee-rules", headers=reader)
    assert (r.status_code, r.json()["code"]) == (404, "BILLER_NOT_FOUND")
    r = await http.post(BILL + "/late-fee-waivers", headers=reader, json={"reason": "x"})
    assert r.status_code == 403


def test_the_cli_adds_lists_shows_and_waives(
    cli: CliRunner,  # noqa: F811
    tmp_path: Path,
    db_url: URL,
) -> None:
    r = invoke(cli, "billers", "add", "BJWATER", "--name", "北京自来水", "--category", "water",
               "--mode", "hosted", "--account-rule", "0[1-9][0-9]+")  # fmt: skip
    assert r.exit_code == 0, r.output
    bills = tmp_path / "bills.csv"
    line = bill_line("B1", amount=3900, late_fee=20, due="2026-10-31")
    bills.write_text(f"{HEADER}{line}\n")
    assert invoke(cli, "bills", "import", str(bills)).exit_code == 0
    add = ("late-fees", "rules", "add", "--biller", "BJWATER", "--from", "2026-01-01",
           "--daily-per-mille", "1", "--grace-days", "5", "--cap", "5000", "--cap", "30%",
           "--basis", "calendar", "--reason", "price bureau notice")  # fmt: skip
    r = invoke(cli, *add)
    assert r.exit_code == 0 and "rule 1 (2026-01-01..open-ended, every class) added" in r.output
    r = invoke(cli, *add[:-6], "--to", "2026-03-31")
    assert r.exit_code == 1 and "overlaps rule 1" in r.output
    r = invoke(cli, "late-fees", "rules", "list", "--biller", "BJWATER", "--json")
    assert json.loads(r.output)[0]["cap_percent"] == "30.0000"
    r = invoke(cli, "late-fees", "show", "--biller", "BJWATER", "--bill", "B1",
               "--on", "2026-11-20", "--json")  # fmt: skip
    shown = json.loads(r.output)
    # 3900 × 1‰ × (20 − 5) = 58.5 → 59, rounded once; + 20 imported
    assert (shown["accrued"], shown["late_fee"], shown["amount_due"]) == (59, 79, 3979)
    r = invoke(cli, "late-fees", "waive", "--biller", "BJWATER", "--bill", "B1",
               "--amount", "5", "--all", "--reason", "x")  # fmt: skip
    assert r.exit_code == 2 and "either --amount or --all" in r.output
    r = invoke(cli, "late-fees", "waive", "--biller", "BJWATER", "--bill", "NOPE",
               "--all", "--reason", "x")  # fmt: skip
    assert r.exit_code == 1 and "has no bill NOPE" in r.output
    assert sql(db_url, "SELECT count(*) FROM late_fee_waivers") == [(0,)]


async def test_a_remote_utility_is_refused_rules_it_sends_its_own_fees(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    clock: FrozenClock,
    world: Any,
    admin_headers: AdminHeaders,
) -> None:
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="RMWATER", name="远程水务", category=Category.WATER,
            mode=IntegrationMode.REMOTE, account_rule=r"[0-9]{10}",
            remote=RemoteSettings(url="http://127.0.0.1:9", key="k" * 32,
                                  sign_type=SignType.HMAC_SHA256), actor="test",
        )  # fmt: skip
    writer = await admin_headers(Scope.CONFIG_WRITE, name="li")
    r = await http.post("/admin/v1/billers/RMWATER/late-fee-rules", headers=writer, json=RULE)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == (
        "biller RMWATER keeps its own books (remote): late fees only for a hosted biller"
    )
    assert await _rule_count(engine) == 0


async def test_a_waiver_counts_from_its_day_on_not_on_the_days_before(
    http: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, world: Any,
    admin_headers: AdminHeaders,
) -> None:  # fmt: skip
    writer = await _overdue_bill(http, engine, clock, admin_headers)
    waived = await http.post(BILL + "/late-fee-waivers", headers=writer,
                             json={"reason": "meter misread"})  # fmt: skip
    assert waived.json()["late_fee"] == 0  # all of 2026-11-22's 190
    reader = await admin_headers(Scope.OPS_READ, name="reader")
    # 11-10: 4 days charged after 5 of grace, 40, plus 30 imported; the waiver came later
    before = (await http.get(BILL + "/late-fee?on=2026-11-10", headers=reader)).json()
    assert (before["accrued"], before["waived"], before["late_fee"]) == (40, 0, 70)
    async with engine.connect() as conn:
        in_sql = await conn.scalar(
            text("SELECT bill_late_fee(id, 'B1', '2026-11-10') FROM billers WHERE code = 'BJWATER'")
        )
    assert in_sql == 70

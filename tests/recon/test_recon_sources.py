"""Statement parsers: every real sample read into the normalized form, its own summary or
balances checked against its lines (the known quirks reported, not crashed on), another
parser's reading of the same files agreed with, and bad files refused line by line."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from utilipay.common.files import FileRejected
from utilipay.recon.sources import alipay, biller, camt, generic, swift_mt940, wechat
from utilipay.recon.sources.common import Kind, ParsedStatement, Status, to_fen
from utilipay.recon.statements import detect

DATA = Path(__file__).parents[1] / "data" / "recon"
SHARED = Path(__file__).parents[3] / "shared" / "realdata"
CAMT053 = sorted(p.stem for p in DATA.glob("camt053*.xml"))
MT940_WITH_READING = sorted(p.stem for p in DATA.glob("*.yml") if "february_30" not in p.stem)


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rejected(excinfo: pytest.ExceptionInfo[FileRejected]) -> list[tuple[int, str]]:
    return [(e.line, e.message) for e in excinfo.value.errors]


def no_floats(parsed: ParsedStatement) -> None:
    for line in parsed.lines:
        assert type(line.amount) is int and line.amount > 0
        assert line.occurred_at.tzinfo is not None


# --- amounts -------------------------------------------------------------------------


def test_amounts_are_exact_fen_or_refused() -> None:
    assert to_fen("0.01") == 1
    assert to_fen("123.45") == 12345
    assert to_fen("8.850") == 885  # camt allows more decimals when they are zeros
    assert to_fen("-50.00") == -5000
    assert to_fen("1,234.50") == 123450
    assert to_fen("1230", 1) == 1230
    assert to_fen("1,234,567", 1) == 1234567
    for bad in ("0.001", "1e3", "abc", "", "12.5", "nan", "1,23", "12,34.00"):
        with pytest.raises(ValueError):
            to_fen(bad, 1 if bad == "12.5" else 100)
    assert to_fen("0.1") + to_fen("0.2") == to_fen("0.3")  # what floats cannot do


# --- WeChat Pay ------------------------------------------------------------------------


def test_the_wechat_trade_bill_sample_agrees_with_its_summary() -> None:
    parsed = wechat.parse_trade_bill(sample("tradebill_ALL_v3_sample.csv"), "trade")
    no_floats(parsed)
    assert [(x.line_no, x.order_id, x.party_ref, x.amount, x.status) for x in parsed.lines] == [
        (2, "S20210128170702357723", "4200000925202101284997714292", 1, Status.PAID),
        (3, "S20210128153505214586", "4200000910202101282955148400", 1, Status.PAID),
        (4, "S20210128165824499930", "4200000926202101281412639609", 1, Status.PAID),
    ]
    first = parsed.lines[0]
    assert first.occurred_at.isoformat() == "2021-01-28T17:07:11+08:00"
    assert first.business_date == date(2021, 1, 28)
    assert parsed.matched
    checks = {c.what: (c.declared, c.computed) for c in parsed.checks}
    assert checks["总交易单数"] == (3, 3)
    assert checks["应结订单总金额"] == (Decimal("0.03"), Decimal("0.03"))
    assert checks["手续费总金额"] == (Decimal("0"), Decimal("0"))


def _trade_bill(*rows: str, summary: str) -> bytes:
    header = sample("tradebill_ALL_v3_sample.csv").decode().splitlines()
    return "\n".join([header[0], *rows, header[4], summary]).encode()


def _trade_row(order: str, status: str, amount: str, refund: str = "0.00") -> str:
    refunded = refund != "0.00"
    cells = ["2026-11-21 23:59:59", "wx81be3101902f7cb2", "1601959334", "0", "",
             f"42000{order}", order, "openid", "NATIVE", status, "OTHERS", "CNY",
             amount if status == "SUCCESS" else "0.00", "0.00", "503" if refunded else "",
             "R1" if refunded else "", refund, "0.00", "ORIGINAL" if refunded else "",
             "SUCCESS" if refunded else "", "水费", "", "0.00060", "0.60%",
             amount if status == "SUCCESS" else "0.00", refund, ""]  # fmt: skip
    return ",".join(f"`{c}" for c in cells)


def test_wechat_refunds_are_refunded_lines_and_a_wrong_summary_is_caught() -> None:
    rows = (_trade_row("P1", "SUCCESS", "123.45"), _trade_row("P1", "REFUND", "0", "23.45"))
    good = "`2,`123.45,`23.45,`0.00,`0.00120,`123.45,`23.45"
    parsed = wechat.parse_trade_bill(_trade_bill(*rows, summary=good))
    assert [(x.status, x.amount, x.order_id) for x in parsed.lines] == [
        (Status.PAID, 12345, "P1"), (Status.REFUNDED, 2345, "P1")
    ]  # fmt: skip
    assert parsed.matched
    wrong = "`2,`123.45,`23.40,`0.00,`0.00120,`123.45,`23.45"
    parsed = wechat.parse_trade_bill(_trade_bill(*rows, summary=wrong))
    assert not parsed.matched
    assert [str(c) for c in parsed.mismatches] == [
        "退款总金额: the file says 23.40, its lines make 23.45"
    ]


def test_wechat_totals_are_compared_as_numbers_not_as_text() -> None:
    """The fee total may be written with fewer decimals than its rows (0.2 is 0.20000)."""
    rows: tuple[str, ...] = (
        _trade_row("P1", "SUCCESS", "100.00"),
        _trade_row("P2", "SUCCESS", "23.45"),
    )
    rows = tuple(row.replace("`0.00060", "`0.10000") for row in rows)
    short = "`2,`123.45,`0,`0.0,`0.2,`123.450,`0"
    parsed = wechat.parse_trade_bill(_trade_bill(*rows, summary=short))
    assert parsed.matched, [str(c) for c in parsed.mismatches]
    assert {c.what: c.declared for c in parsed.checks}["手续费总金额"] == Decimal("0.2")
    wrong = wechat.parse_trade_bill(_trade_bill(*rows, summary=short.replace("`0.2,", "`0.21,")))
    assert [str(c) for c in wrong.mismatches] == [
        "手续费总金额: the file says 0.21, its lines make 0.20000"
    ]


def test_a_bad_wechat_line_is_named_and_nothing_is_read() -> None:
    rows = (_trade_row("P1", "SUCCESS", "12.3x"), _trade_row("P2", "CLOSED", "1.00"))
    with pytest.raises(FileRejected) as excinfo:
        wechat.parse_trade_bill(_trade_bill(*rows, summary="`2,`0,`0,`0,`0,`0,`0"), "bill.csv")
    problems = rejected(excinfo)
    assert problems[0][0] == 2 and "12.3x" in problems[0][1]
    assert (3, "交易状态 'CLOSED' is not SUCCESS or REFUND") in problems
    assert "nothing imported" in excinfo.value.detail


def test_a_wechat_bill_cut_short_has_no_summary() -> None:
    text = sample("tradebill_ALL_v3_sample.csv").decode().splitlines()[:3]
    with pytest.raises(FileRejected) as excinfo:
        wechat.parse_trade_bill("\n".join(text).encode())
    assert rejected(excinfo) == [(3, "no summary row (总交易单数) at the end")]


def test_the_wechat_fund_flow_sample_reports_its_known_mismatch() -> None:
    """The README's known quirk: the summary says 3 rows (1 income); the file has 2 expenses."""
    parsed = wechat.parse_fundflow_bill(sample("fundflowbill_BASIC_v3_sample.csv"), "flow")
    no_floats(parsed)
    assert [(x.status, x.amount, x.party_ref) for x in parsed.lines] == [
        (Status.DEBIT, 1, "50300806962021020105978994968"),
        (Status.DEBIT, 1, "50300907032021020105978998710"),
    ]
    assert not parsed.matched
    assert [str(c) for c in parsed.mismatches] == [
        "资金流水总笔数: the file says 3, its lines make 2",
        "收入笔数: the file says 1, its lines make 0",
        "收入金额: the file says 0.01, its lines make 0.00",
    ]
    assert {c.what for c in parsed.checks if c.ok} == {"支出笔数", "支出金额"}


# --- Alipay ----------------------------------------------------------------------------


def test_the_alipay_detail_bill_is_gbk_with_hash_lines_and_agrees() -> None:
    data = sample("alipay_detail_20261121.csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed = alipay.parse_alipay_detail(data, "alipay")
    no_floats(parsed)
    assert parsed.business_date == date(2026, 11, 21)
    assert [(x.line_no, x.status, x.amount, x.order_id) for x in parsed.lines] == [
        (6, Status.PAID, 12345, "P01JDX5Q7M3W9K2H8R4T6Y1B0C"),
        (7, Status.PAID, 5000, "P01JDY2N8V5X3L7M1Q9W4E6R0T"),
        (8, Status.PAID, 8040, "P01JDZ7K4C1V9B6N3M8X2Z5A0S"),
        (9, Status.REFUNDED, 12345, "P01JDX5Q7M3W9K2H8R4T6Y1B0C"),
    ]
    assert parsed.lines[0].party_ref == "2026112122001431011412345601"
    assert parsed.matched and len(parsed.checks) == 6


def test_an_alipay_footer_that_disagrees_is_a_mismatch() -> None:
    text = sample("alipay_detail_20261121.csv").decode("gbk")
    text = text.replace("交易合计：3笔，商家实收共251.85元", "交易合计：4笔，商家实收共300.00元")
    parsed = alipay.parse_alipay_detail(text.encode("gbk"))
    assert [str(c) for c in parsed.mismatches] == [
        "交易合计 笔数: the file says 4, its lines make 3",
        "交易合计 商家实收: the file says 300.00, its lines make 251.85",
    ]


# --- the biller protocol statement ----------------------------------------------------


def test_the_biller_statement_header_agrees_with_its_lines() -> None:
    parsed = biller.parse_biller_statement(sample("biller_BJWATER_20261121.txt"))
    assert (parsed.party_code, parsed.business_date) == ("BJWATER", date(2026, 11, 21))
    assert [(x.status, x.amount, x.order_id, x.party_ref, x.account_no, x.channel_code)
            for x in parsed.lines][::3] == [
        (Status.PAID, 12345, "P01JDX5Q7M3W9K2H8R4T6Y1B0C", "W000123", "0112345678", "WECHAT"),
        (Status.REVERSED, 12345, "P01JDX5Q7M3W9K2H8R4T6Y1B0C", "W000123", "0112345678", "WECHAT"),
    ]  # fmt: skip
    assert parsed.lines[-1].occurred_at.isoformat() == "2026-11-21T23:59:59+08:00"
    assert parsed.matched


def test_a_biller_header_whose_count_or_net_is_off_is_a_mismatch() -> None:
    text = sample("biller_BJWATER_20261121.txt").replace(b"|4|13040", b"|5|13041")
    parsed = biller.parse_biller_statement(text)
    assert [str(c) for c in parsed.mismatches] == [
        "H count: the file says 5, its lines make 4",
        "H net: the file says 130.41, its lines make 130.40",
    ]


def test_bad_biller_lines_are_all_named() -> None:
    text = sample("biller_BJWATER_20261121.txt")
    text = text.replace(b"|5000|", b"|50.00|").replace(b"|REVERSED", b"|UNDONE")
    with pytest.raises(FileRejected) as excinfo:
        biller.parse_biller_statement(text, "stmt.txt")
    assert [line for line, _ in rejected(excinfo)] == [3, 5]


# --- generic CSV ------------------------------------------------------------------------


def test_a_generic_bank_csv_by_its_layout() -> None:
    layout = generic.layout_from_toml((DATA / "generic_bank_layout.toml").read_text())
    parsed = generic.parse_generic_csv(sample("generic_bank_20261121.csv"), layout)
    no_floats(parsed)
    assert [(x.line_no, x.status, x.amount, x.party_ref) for x in parsed.lines] == [
        (3, Status.CREDIT, 1234500, "ICBC20261121000081"),
        (4, Status.CREDIT, 501200, "ICBC20261121000082"),
        (5, Status.DEBIT, 1700000, "ICBC20261121000107"),
    ]
    assert parsed.lines[0].counterparty == "财付通支付科技有限公司"


CHANNEL_LAYOUT = """
party = "channel"
delimiter = ";"
date_format = "%d/%m/%Y %H:%M"
amount_unit = "yuan"
[columns]
occurred_at = "when"
amount = "amount"
status = "state"
order_id = "order"
[statuses]
ok = "PAID"
back = "REFUNDED"
"""


def test_a_generic_channel_csv_with_statuses_and_its_bad_lines() -> None:
    layout = generic.layout_from_toml(CHANNEL_LAYOUT)
    good = (
        "when;amount;state;order\n21/11/2026 09:30;123.45;ok;P1\n21/11/2026 20:00;23.45;back;P1\n"
    )
    parsed = generic.parse_generic_csv(good.encode(), layout)
    assert [(x.status, x.amount) for x in parsed.lines] == [
        (Status.PAID, 12345), (Status.REFUNDED, 2345)
    ]  # fmt: skip
    assert parsed.lines[0].occurred_at.isoformat() == "2026-11-21T09:30:00+08:00"
    bad = (
        good
        + "31/11/2026 10:00;1.00;ok;P2\n21/11/2026 10:00;1.001;ok;P3\n22/11/2026 1:00;1;lost;P4\n"
    )
    with pytest.raises(FileRejected) as excinfo:
        generic.parse_generic_csv(bad.encode(), layout)
    assert [line for line, _ in rejected(excinfo)] == [4, 5, 6]


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("party = 'bank'\n[columns]\namount = 'a'", "needs occurred_at"),
        ("[columns]\noccurred_at = 't'\namount = 'a'", "[signs] must give"),
        ("amount_unit = 'jiao'\n[columns]\noccurred_at = 't'\namount = 'a'", "yuan or fen"),
        ("colour = 'red'", "unknown key"),
        ("party = 'bank'\n[columns]\noccurred_at = 't'\ncredit_amount = 'c'", "credit_amount and"),
    ],
)
def test_a_wrong_layout_is_refused_by_what_is_wrong(toml: str, says: str) -> None:
    with pytest.raises(Exception, match=re.escape(says)):
        generic.layout_from_toml(toml)


# --- camt.053 -------------------------------------------------------------------------


# genkgo/camt's names of the balance types (PRCD, the previous closing, opens too)
TYPES = {"OPBD": "opening", "PRCD": "opening", "CLBD": "closing", "OPAV": "opening_available",
         "CLAV": "closing_available"}  # fmt: skip


NO_MINOR_UNIT = {"JPY"}


def _their_entries(name: str) -> list[dict[str, Any]]:
    """genkgo/camt's reading (the .expected.json beside each sample)."""
    entries: list[dict[str, Any]] = json.loads((DATA / f"{name}.expected.json").read_text())[
        "getEntries"
    ]
    return entries


@pytest.mark.parametrize("name", CAMT053)
def test_camt053_samples_read_as_genkgo_camt_reads_them(name: str) -> None:
    parsed = camt.parse_camt053(sample(f"{name}.xml"), name)
    no_floats(parsed)
    ours = {(x.amount, x.status, x.currency, x.business_date, x.party_ref) for x in parsed.lines}
    for entry in _their_entries(name):
        signed = int(entry["getAmount"]["getAmount"])
        refs = (entry.get("getTransactionDetail") or {}).get("getReference") or {}
        reference = refs.get("getEndToEndId") or entry["getAccountServicerReference"]
        booked = date.fromisoformat(entry["getBookingDate"]["0"][:10])
        status = Status.CREDIT if entry["getCreditDebitIndicator"] == "CRDT" else Status.DEBIT
        assert (signed > 0) == (status is Status.CREDIT)
        currency = entry["getAmount"]["getCurrency"]["getCode"]
        assert (abs(signed), status, currency, booked, reference) in ours
        record = entry["getRecord"]
        assert parsed.party_code == record["getAccount"]["getIdentification"]
        declared = next(s for s in parsed.declared["statements"] if s["id"] == record["getId"])
        kept = {(TYPES.get(code), to_fen(amount), ccy)
                for code, (amount, ccy) in declared["balances"].items()}  # fmt: skip
        for balance in record["getBalances"]:
            if balance["getType"] in TYPES.values():
                money = balance["getAmount"]
                ccy = money["getCurrency"]["getCode"]
                # theirs is in the currency's minor unit; ours always in hundredths
                hundredths = int(money["getAmount"]) * (100 if ccy in NO_MINOR_UNIT else 1)
                assert (balance["getType"], hundredths, ccy) in kept


STMT = "253EURNL26VAYB8060476890"


def test_camt053_balances_checked_and_the_known_quirks_reported() -> None:
    """Only the multi-statement sample balances; minimal, v4 and v8 close DBIT in SEK."""
    results = {n: camt.parse_camt053(sample(f"{n}.xml")) for n in CAMT053}
    assert [n for n, p in results.items() if p.matched] == ["camt053.v2.multi.statement"]
    multi = results["camt053.v2.multi.statement"]
    assert [c.what for c in multi.checks] == [
        "statement 253EURNL26VAYB8060476890 CLBD", "statement 254EURNL26VAYB8060476890 CLBD"
    ]  # fmt: skip
    for name in ("camt053.v2.minimal", "camt053.v4", "camt053.v8"):
        assert [str(c) for c in results[name].mismatches] == [
            f"statement {STMT} CLBD: the file says -27.00, its lines make 27.00",
            f"statement {STMT} CLBD currency: the file says SEK, its lines make EUR",
        ], name
    v8 = results["camt053.v8"].lines[0]
    assert v8.occurred_at.isoformat() == "2014-12-31T13:15:00+01:00"
    assert v8.party_ref == "MUELL/FINP/RA12345"


def test_other_camt_messages_and_unsafe_xml_are_refused() -> None:
    with pytest.raises(FileRejected, match=r"not a camt\.053 statement"):
        camt.parse_camt053(sample("camt054.v2.xml"))
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>'
    with pytest.raises(FileRejected, match="refused"):
        camt.parse_camt053(bomb)
    broken = sample("camt053.v2.minimal.xml").replace(b"<Amt Ccy=\"EUR\">8.85</Amt>",
                                                       b"<Amt Ccy=\"EUR\">8.855</Amt>")  # fmt: skip
    with pytest.raises(FileRejected) as excinfo:
        camt.parse_camt053(broken)
    assert rejected(excinfo) == [(90, "entry: amount '8.855' is not a whole number of fen")]


# --- MT940 ----------------------------------------------------------------------------


class _Pickled(yaml.SafeLoader):
    """Reads the mt940 library's pickled expectations as plain data, running nothing."""


def _object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    data: dict[Any, Any] = {}
    yield data  # first, so the files' recursive references resolve
    if isinstance(node, yaml.MappingNode):
        data.update(loader.construct_mapping(node, deep=True))


def _apply(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    args = loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode) else []
    if suffix == "decimal.Decimal":
        return Decimal(args[0])
    if suffix == "mt940.models.Date":  # a pickled date: year (2 bytes), month, day
        raw = args[0]
        return date(raw[0] * 256 + raw[1], raw[2], raw[3])
    return None


_Pickled.add_multi_constructor("tag:yaml.org,2002:python/object:", _object)
_Pickled.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _apply)
_Pickled.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda *_: None)


def _accounts(data: bytes) -> list[str]:
    found = re.findall(rb"^:25:(.*?)\r?$", data, flags=re.MULTILINE)
    return list(dict.fromkeys(a.decode("latin-1").strip() for a in found))


@pytest.mark.parametrize("name", MT940_WITH_READING)
def test_mt940_samples_read_as_the_mt940_library_reads_them(name: str) -> None:
    theirs = yaml.load((DATA / f"{name}.yml").read_text(), Loader=_Pickled)  # noqa: S506
    data = sample(f"{name}.sta")
    parsed = [swift_mt940.parse_mt940(data, name, account) for account in _accounts(data)]
    lines = sorted((x for p in parsed for x in p.lines), key=lambda x: x.line_no)
    for p in parsed:
        no_floats(p)
    expected = []
    for t in theirs["transactions"]:
        d = t["data"]
        if d["amount"]["amount"] != 0:
            credit = d["status"] in {"C", "RD"}
            booked = d.get("entry_date") or d["date"]
            expected.append((abs(d["amount"]["amount"]) * 100, credit, booked))
    assert [(x.amount, x.status is Status.CREDIT, x.business_date) for x in lines] == expected
    closing = theirs["data"].get("final_closing_balance")
    if closing is not None:  # their reading keeps the last :62F: of the file
        ours = [s["closing"] for p in parsed for s in p.declared["statements"]]
        assert str(closing["amount"]["amount"]) in ours


def test_mt940_balances_checked_per_statement() -> None:
    good = swift_mt940.parse_mt940(sample("sberbank_171011_01234945.sta"))
    assert good.matched and len(good.checks) == 1
    assert good.party_code == "1966315302010001"
    details = swift_mt940.parse_mt940(sample("self-provided_malformed_details.sta"))
    assert [str(c) for c in details.mismatches] == [
        "statement on line 1 closing balance: the file says 12345.98, its lines make 12111.97"
    ]
    interim = swift_mt940.parse_mt940(sample("mBank_mt942.sta"))
    assert interim.checks == [] and interim.notes == ["statement on line 2: no balances to check"]
    zeros = swift_mt940.parse_mt940(sample("citi_mt940.txt"))
    assert zeros.notes == ["line 13: an entry of zero, not imported",
                           "line 15: an entry of zero, not imported"]  # fmt: skip


def test_broken_mt940_files_are_refused_naming_the_problem() -> None:
    with pytest.raises(FileRejected) as excinfo:
        swift_mt940.parse_mt940(sample("self-provided_february_30.sta"), "feb30.sta")
    assert rejected(excinfo) == [(6, ":61: date 160230 is 30 February 2016, which does not exist")]
    with pytest.raises(FileRejected) as excinfo:
        swift_mt940.parse_mt940(sample("ASNB_mt940.txt"), "asnb.txt")
    [(line, message)] = rejected(excinfo)
    assert line == 6 and message.startswith(":61: (Statement) cannot be read from '2001010101D65")


def test_a_bank_file_of_several_accounts_needs_one_named() -> None:
    data = sample("jejik_rabobank.sta")
    with pytest.raises(FileRejected, match=r"several accounts \(1291\.99\.348EUR, 1526"):
        swift_mt940.parse_mt940(data)
    with pytest.raises(FileRejected, match="no statement of account NL00"):
        swift_mt940.parse_mt940(data, account="NL00")
    one = swift_mt940.parse_mt940(data, account="1526.89.184EUR")
    assert one.party_code == "1526.89.184EUR" and one.notes[0].endswith("left out")


# --- all formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("tradebill_ALL_v3_sample.csv", Kind.WECHAT_TRADE),
        ("fundflowbill_BASIC_v3_sample.csv", Kind.WECHAT_FUNDFLOW),
        ("alipay_detail_20261121.csv", Kind.ALIPAY_DETAIL),
        ("biller_BJWATER_20261121.txt", Kind.BILLER_STATEMENT),
        ("camt053.v8.xml", Kind.CAMT053),
        ("jejik_ing.sta", Kind.MT940),
        ("citi_mt940.txt", Kind.MT940),
    ],
)
def test_formats_are_told_by_their_content(name: str, kind: Kind) -> None:
    assert detect(sample(name)) is kind


def test_unknown_empty_and_oversized_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileRejected, match="name the kind"):
        detect(sample("generic_bank_20261121.csv"))
    with pytest.raises(FileRejected, match="empty"):
        biller.parse_biller_statement(b"\n")
    monkeypatch.setattr("utilipay.recon.sources.common.MAX_BYTES", 100)
    with pytest.raises(FileRejected, match="larger than the 100 bytes"):
        wechat.parse_trade_bill(sample("tradebill_ALL_v3_sample.csv"))


def test_the_samples_are_the_shared_real_files() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/realdata is not beside this checkout")
    for folder in ("wechatpay", "camt", "mt940"):
        for shared in (SHARED / folder).iterdir():
            copy = DATA / shared.name
            if copy.exists():
                assert copy.read_bytes() == shared.read_bytes(), shared.name


def test_camt_entries_not_yet_booked_are_left_out_and_said() -> None:
    data = sample("camt053.v2.multi.statement.xml").replace(
        b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>", 1
    )
    parsed = camt.parse_camt053(data)
    assert [x.status for x in parsed.lines] == [Status.DEBIT]
    assert parsed.notes == ["entries not booked yet, left out: lines [66]"]
    assert not parsed.matched  # the closing balance counts the entry the file says is pending

"""A settlement as files for the utility: CSV, and a camt.054-like XML notification.

Both are made from a settlement as written (``service.show_day``), so a file made
twice is the same file. Amounts are yuan with two decimals.

The XML follows ISO 20022 camt.054.001.08 (Bank-to-Customer Debit/Credit
Notification): the payee's account, one entry per branch with its net as a credit
(a debit when refunds, fees and commission exceed it), the payout's end-to-end id and the
breakdown in the remittance text. No maintained Python writer of camt.054 was
found (the packages there read camt), so it is written here with the standard
library's ElementTree, element by element in the schema's order.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from utilipay.clock import to_shanghai_iso
from utilipay.common import spreadsheet
from utilipay.common.spreadsheet import Cell
from utilipay.money import CNY, in_yuan

CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
CSV_COLUMNS = ("payee", "date", "branch", "branch_name", "bills", "bill_count", "accruals",
               "vouchers", "gross", "refunds", "fees", "commission", "net", "topups", "reversed",
               "reference",
               "account_no", "account_name", "bank")  # fmt: skip


def yuan(fen: int) -> str:
    """12345 → '123.45', -5 → '-0.05': the file's amounts, no separators."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def reference(settlement: dict[str, Any]) -> str:
    payout = settlement["payout"]
    return payout["reference"] if payout else ""


def to_csv(settlement: dict[str, Any]) -> bytes:
    """A line per branch, then the payee's TOTAL line (names made safe for spreadsheets)."""
    head = [settlement["payee"], settlement["date"]]
    tail = [reference(settlement), settlement["account_no"], settlement["account_name"],
            settlement["bank"]]  # fmt: skip
    rows = [[*head, line["branch"], line["branch_name"], *_amounts(line), *tail]
            for line in settlement["lines"]]  # fmt: skip
    total = {f: sum(line[f] for line in settlement["lines"]) for f in ("topups", "reversed")}
    total |= {k: settlement[k] for k in ("gross", "refunds", "fees", "commission", "net")}
    total |= {f: sum(line[f] for line in settlement["lines"])
              for f in ("bills", "accruals", "vouchers")}  # fmt: skip
    total["bill_count"] = sum(line["bill_count"] for line in settlement["lines"])
    rows.append([*head, "TOTAL", settlement["payee_name"], *_amounts(total), *tail])
    return spreadsheet.to_csv(CSV_COLUMNS, rows)


def _amounts(figures: dict[str, Any]) -> list[Cell]:
    money = ("bills", "accruals", "vouchers", "gross", "refunds", "fees", "commission", "net",
             "topups", "reversed")  # fmt: skip
    values: list[Cell] = [in_yuan(figures[f]) for f in money]
    return [values[0], int(figures["bill_count"]), *values[1:]]


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAMT054}}}{tag}", attrs)
    element.text = text
    return element


def _path(parent: ET.Element, tags: str, text: str | None = None) -> ET.Element:
    """``A/B/C`` under ``parent``; the last element, holding ``text``."""
    for tag in tags.split("/"):
        parent = _sub(parent, tag)
    parent.text = text
    return parent


def to_camt054(settlement: dict[str, Any], created: datetime) -> bytes:
    ET.register_namespace("", CAMT054)
    document = ET.Element(f"{{{CAMT054}}}Document")
    message = _sub(document, "BkToCstmrDbtCdtNtfctn")
    ref = reference(settlement) or f"STL-{settlement['payee']}-{settlement['date']}"
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", ref)
    _sub(header, "CreDtTm", to_shanghai_iso(created))
    note = _sub(message, "Ntfctn")
    _sub(note, "Id", ref)
    _sub(note, "CreDtTm", to_shanghai_iso(created))
    period = _sub(note, "FrToDt")
    _sub(period, "FrDtTm", f"{settlement['date']}T00:00:00+08:00")
    _sub(period, "ToDtTm", f"{settlement['date']}T23:59:59+08:00")
    account = _sub(note, "Acct")
    _path(account, "Id/Othr/Id", settlement["account_no"])
    _path(account, "Ownr/Nm", settlement["account_name"])
    _path(account, "Svcr/FinInstnId/Nm", settlement["bank"])
    for line in settlement["lines"]:
        _entry(note, settlement, line, ref)
    _sub(note, "AddtlNtfctnInf", _breakdown(settlement) + f"; payments {settlement['payments']}")
    ET.indent(document)
    return bytes(ET.tostring(document, encoding="utf-8", xml_declaration=True)) + b"\n"


def _entry(note: ET.Element, settlement: dict[str, Any], line: dict[str, Any], ref: str) -> None:
    side = "CRDT" if line["net"] >= 0 else "DBIT"
    entry = _sub(note, "Ntry")
    _sub(entry, "Amt", yuan(abs(line["net"])), Ccy=CNY)
    _sub(entry, "CdtDbtInd", side)
    _path(entry, "Sts/Cd", "BOOK")
    _path(entry, "BookgDt/Dt", settlement["date"])
    _path(entry, "ValDt/Dt", settlement["date"])
    _path(entry, "BkTxCd/Prtry/Cd", "SETTLEMENT")
    details = _sub(_sub(entry, "NtryDtls"), "TxDtls")
    _path(details, "Refs/EndToEndId", ref)
    _sub(details, "Amt", yuan(abs(line["net"])), Ccy=CNY)
    _sub(details, "CdtDbtInd", side)
    _sub(_path(details, "AmtDtls/TxAmt"), "Amt", yuan(line["gross"]), Ccy=CNY)
    _path(details, "RltdPties/Cdtr/Pty/Nm", line["branch_name"])
    _path(details, "RmtInf/Ustrd", _breakdown(line)[:140])  # Max140Text
    _sub(entry, "AddtlNtryInf", line["branch"])


def _breakdown(figures: dict[str, Any]) -> str:
    parts = ("gross", "refunds", "fees", "commission", "net")
    return "; ".join(f"{p} {yuan(figures[p])}" for p in parts)

"""The receipt (缴费凭证) for 58 mm thermal printers: 32 columns, a CJK character taking two.

The receipt is first a list of rows (title, rule, field, money, note); the text here and the
PDF (pdf.py) are two renderings of the same rows. A character's width is its East Asian
width: wide, full-width and ambiguous characters take two columns, as a printer in GB18030
mode prints them; every line is wrapped to fit, never cut.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from utilipay.clock import SHANGHAI
from utilipay.money import format_yuan
from utilipay.receipts.capitals import rmb_capitals
from utilipay.receipts.schemas import Receipt

WIDTH = 32
_INDENT = "  "  # a wrapped line's continuation


class Kind(StrEnum):
    TITLE = "title"  # centred
    RULE = "rule"  # a line across
    FIELD = "field"  # label: value
    MONEY = "money"  # label on the left, amount on the right
    NOTE = "note"  # a sentence


@dataclass(frozen=True, slots=True)
class Row:
    kind: Kind
    label: str = ""
    value: str = ""


def _time(instant: datetime) -> str:
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _named(name: str, code: str) -> str:
    return f"{name} ({code})"


def _where(receipt: Receipt) -> list[Row]:
    taking = receipt.outlet
    if taking is None:
        return []
    rows = [
        Row(Kind.FIELD, "网点", _named(taking.outlet_name, taking.outlet_code)),
        Row(Kind.FIELD, "终端", _named(taking.terminal_label, taking.terminal_id)),
    ]
    if taking.operator_code is not None:
        name = taking.operator_name
        operator = _named(name, taking.operator_code) if name else taking.operator_code
        rows.append(Row(Kind.FIELD, "收费员", operator))
    return rows


def _when(receipt: Receipt) -> list[Row]:
    """Store and forward keeps both times (§11): when the cash was taken, when the hub got it."""
    taking = receipt.outlet
    if taking is None or taking.collected_at is None:
        return [Row(Kind.FIELD, "缴费时间", _time(receipt.paid_at))]
    return [
        Row(Kind.FIELD, "收款时间", _time(taking.collected_at)),
        Row(Kind.FIELD, "受理时间", _time(taking.received_at)),
    ]


def _bills(receipt: Receipt) -> list[Row]:
    rows: list[Row] = []
    for bill in receipt.bills:
        rows.append(Row(Kind.FIELD, "账单", bill.bill_no))
        if bill.amount is not None:
            rows.append(Row(Kind.MONEY, _INDENT + (bill.period or ""), format_yuan(bill.amount)))
    return rows


def receipt_rows(receipt: Receipt) -> list[Row]:
    voided = [Row(Kind.TITLE, "*** 已冲正 VOIDED ***")] if receipt.voided else []
    return [
        Row(Kind.TITLE, "缴费凭证"),
        *voided,
        Row(Kind.RULE, "="),
        Row(Kind.FIELD, "凭证号", receipt.receipt_no),
        Row(Kind.FIELD, "交易号", receipt.payment_id),
        *_where(receipt),
        Row(Kind.RULE, "-"),
        Row(Kind.FIELD, "缴费单位", _named(receipt.biller_name, receipt.biller_code)),
        Row(Kind.FIELD, "户号", receipt.account_no),
        Row(Kind.FIELD, "户名", receipt.holder or "-"),
        Row(Kind.RULE, "-"),
        *_bills(receipt),
        Row(Kind.MONEY, "合计", "￥" + format_yuan(receipt.amount)),
        Row(Kind.NOTE, "大写: 人民币" + rmb_capitals(receipt.amount)),
        Row(Kind.RULE, "-"),
        *_when(receipt),
        Row(Kind.FIELD, "验证码", receipt.code),
        *voided,
        Row(Kind.RULE, "="),
        Row(Kind.NOTE, "凭凭证号和验证码可核验真伪"),
    ]


def printable(text: str) -> str:
    """``text`` with control and format characters (a newline in a name) made spaces."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


def columns(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F", "A") else 1


def width(text: str) -> int:
    return sum(columns(c) for c in text)


def wrap(text: str, limit: int = WIDTH) -> list[str]:
    """Lines of at most ``limit`` columns, broken between characters (Chinese has no spaces
    to break at); continuation lines are indented."""
    lines: list[str] = []
    line, used = "", 0
    for char in printable(text):
        need = columns(char)
        if used + need > limit:
            lines.append(line)
            line, used = _INDENT, len(_INDENT)
        line += char
        used += need
    lines.append(line)
    return lines


def _text_lines(row: Row) -> list[str]:
    if row.kind is Kind.RULE:
        return [row.label * WIDTH]
    if row.kind is Kind.TITLE:
        return [" " * ((WIDTH - width(line)) // 2) + line for line in wrap(row.label)]
    if row.kind is Kind.NOTE:
        return wrap(row.label)
    gap = WIDTH - width(row.label) - width(row.value)
    if row.kind is Kind.MONEY and gap >= 1:
        return [printable(row.label) + " " * gap + row.value]
    whole = f"{row.label}: {row.value}"
    if width(whole) > WIDTH and width(row.value) <= WIDTH - len(_INDENT):  # an id: unbroken
        return [f"{row.label}:", *wrap(_INDENT + row.value)]
    return wrap(whole)


def render_text(receipt: Receipt) -> str:
    """The receipt as lines of at most 32 columns, each ending with a newline."""
    return "".join(line + "\n" for row in receipt_rows(receipt) for line in _text_lines(row))

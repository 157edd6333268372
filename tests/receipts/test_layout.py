"""The 58 mm receipt: every line within 32 columns whatever the names, the outlet lines only
for an outlet's payment, both times for store and forward, a void marked; the PDF parses."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
from hypothesis import given, settings
from hypothesis import strategies as st

from utilipay.outlets.receipts_view import OutletTaking
from utilipay.receipts.layout import render_text as text
from utilipay.receipts.pdf import render_pdf
from utilipay.receipts.schemas import Receipt, ReceiptBill


def columns(line: str) -> int:
    """What a 58 mm printer in GB18030 mode takes: two columns for wide, full-width and
    ambiguous characters (measured here apart from the layout's own measure)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in line)


TAKEN = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
SHOP = OutletTaking(
    outlet_code="S001",
    outlet_name="红星村便民超市",
    terminal_id="T01JDX3Q7",
    terminal_label="柜台POS",
    operator_code="OP01",
    operator_name="王丽",
    collected_at=None,
    received_at=TAKEN,
)
RECEIPT = Receipt(
    receipt_no="R202611220000000001",
    payment_id="P01JDX3Q7ZK8M2N4P6R8T0V2X4",
    voided=False,
    biller_code="BJWATER",
    biller_name="北京自来水",
    account_no="0112345678",
    holder="张*",
    bills=(ReceiptBill("B202610-0001", "2026-10", 12345), ReceiptBill("B202609-0001", None, None)),
    amount=12345,
    paid_at=TAKEN,
    outlet=SHOP,
    code="K7QX2-M9PDA",
)


def test_an_outlets_receipt_shows_who_took_it_and_the_amount_both_ways() -> None:
    lines = text(RECEIPT).splitlines()
    assert lines[0].strip() == "缴费凭证"
    for shown in (
        "凭证号: R202611220000000001",
        "网点: 红星村便民超市 (S001)",
        "终端: 柜台POS (T01JDX3Q7)",
        "收费员: 王丽 (OP01)",
        "缴费单位: 北京自来水 (BJWATER)",
        "户名: 张*",
        "大写: 人民币壹佰贰拾叁元肆角伍分",
        "缴费时间: 2026-11-22 15:30:00",
        "验证码: K7QX2-M9PDA",
        "账单: B202609-0001",  # a remote utility's bill: its number only
    ):
        assert shown in lines, shown
    assert "交易号:" in lines and "  P01JDX3Q7ZK8M2N4P6R8T0V2X4" in lines  # an id unbroken
    assert "  2026-10" + " " * 17 + "123.45" in lines
    assert "合计" + " " * 20 + "￥123.45" in lines
    assert "已冲正" not in text(RECEIPT)


def test_a_channels_receipt_has_no_outlet_lines() -> None:
    printed = text(replace(RECEIPT, outlet=None))
    assert "网点" not in printed and "终端" not in printed and "收费员" not in printed
    assert "缴费时间: 2026-11-22 15:30:00" in printed


def test_store_and_forward_shows_when_collected_and_when_received() -> None:
    late = replace(SHOP, collected_at=datetime(2026, 11, 20, 1, 5, tzinfo=UTC))
    printed = text(replace(RECEIPT, outlet=late))
    assert "收款时间: 2026-11-20 09:05:00" in printed
    assert "受理时间: 2026-11-22 15:30:00" in printed
    assert "缴费时间" not in printed


def test_a_voided_payments_receipt_says_so_at_the_top_and_the_bottom() -> None:
    lines = text(replace(RECEIPT, voided=True)).splitlines()
    marked = [n for n, line in enumerate(lines) if "已冲正 VOIDED" in line]
    assert marked[0] == 1 and marked[-1] > len(lines) - 4


names = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII
        st.sampled_from("（）：·—￥\n\t\u200b\u3000😀é"),  # full-width, ambiguous, controls
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(names, names, names, names, st.integers(0, 10**12))
def test_every_line_fits_32_columns(
    outlet: str, biller: str, operator: str, bill_no: str, amount: int
) -> None:
    taking = replace(SHOP, outlet_name=outlet, operator_name=operator, terminal_label=outlet)
    receipt = replace(
        RECEIPT,
        outlet=taking,
        biller_name=biller,
        holder=operator,
        amount=amount,
        bills=(ReceiptBill(bill_no, "2026-10", amount),),
    )
    for line in text(receipt).splitlines():
        assert columns(line) <= 32, line
        assert "\n" not in line and "\t" not in line


def test_the_pdf_is_one_page_with_the_receipts_text() -> None:
    pdf = render_pdf(RECEIPT)
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 58  # mm
    extracted = page.extract_text()
    for shown in ("缴费凭证", "R202611220000000001", "红星村便民超市", "K7QX2-M9PDA"):
        assert shown in extracted, shown
    assert "人民币壹佰贰拾叁元肆角伍分" in extracted
    assert render_pdf(RECEIPT) == pdf  # the same receipt, the same bytes

"""A receipt's content, gathered from the payment and what it paid (receipts/service.py),
laid out as text (layout.py) or PDF (pdf.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from utilipay.outlets.receipts_view import OutletTaking


@dataclass(frozen=True, slots=True)
class ReceiptBill:
    bill_no: str
    # None for a remote utility's bill: the hub keeps only its number, and a receipt is
    # made from the hub's own books, without asking the utility
    period: str | None
    amount: int | None  # fen, late fee included


@dataclass(frozen=True, slots=True)
class Receipt:
    receipt_no: str
    payment_id: str
    voided: bool  # 已冲正: the payment was voided at the outlet after it succeeded
    biller_code: str
    biller_name: str
    account_no: str
    holder: str | None  # masked (张*); None when the hub does not keep the utility's books
    bills: tuple[ReceiptBill, ...]
    amount: int  # fen
    paid_at: datetime  # when the hub took the payment
    outlet: OutletTaking | None  # None: a channel's payment, taken at no outlet
    code: str  # the verification code (receipts/codes.py)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from utilipay.billers.schemas import Biller, CodeOfBiller
from utilipay.channels.schemas import Channel
from utilipay.common.validation import PRINTABLE

_ID = r"^[A-Za-z0-9_-]{1,64}$"
_BILL_NO = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_BILLS_PER_PAYMENT = 100


class PaymentStatus(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PaymentRequest(BaseModel):
    """``POST /v1/payments`` (channel-api.md §4). Amounts are integers; nothing is coerced."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    order_id: Annotated[StrictStr, Field(pattern=_ID, description="the channel's own unique id")]
    biller: Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    amount: Annotated[StrictInt, Field(description="fen; must equal the bills' total")]
    bill_nos: (
        Annotated[
            list[Annotated[StrictStr, Field(pattern=_BILL_NO)]],
            Field(min_length=1, max_length=MAX_BILLS_PER_PAYMENT),
        ]
        | None
    ) = None
    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]


@dataclass(frozen=True, slots=True)
class PaymentCommand:
    """A verified payment request, resolved against the directory."""

    channel: Channel
    nonce: str | None
    biller: Biller
    order_id: str
    account_no: str
    amount: int
    bill_nos: tuple[str, ...] | None
    payer: str
    # "bills", or "prepaid_topup" for an automatic top-up, which pays no bill even if some
    # are due (a channel's payment without bills pays them first, then tops up)
    purpose: str = "bills"


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    channel_id: int
    status: PaymentStatus
    biller: str
    account_no: str
    amount: int
    currency: str
    bill_nos: tuple[str, ...]
    receipt_no: str | None
    biller_serial: str | None
    failure_code: str | None
    created_at: datetime
    finished_at: datetime | None
    purpose: str = "bills"  # or prepaid_topup: the amount went to a prepaid balance


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A payment as its row holds it: a channel's ``Payment`` with the biller's id instead of
    its code, and the payer; what other areas read of ``payments``."""

    biller_id: int
    id: str
    order_id: str
    channel_id: int
    status: PaymentStatus
    payer: str
    account_no: str
    amount: int
    currency: str
    bill_nos: tuple[str, ...]
    receipt_no: str | None
    biller_serial: str | None
    failure_code: str | None
    created_at: datetime
    finished_at: datetime | None
    purpose: str

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> StoredPayment:
        """From a row of ``payments`` (or of a query returning its columns)."""
        return cls(
            biller_id=row["biller_id"],
            id=row["id"],
            order_id=row["order_id"],
            channel_id=row["channel_id"],
            status=PaymentStatus(row["status"]),
            payer=row["payer"],
            account_no=row["account_no"],
            amount=row["amount"],
            currency=row["currency"],
            bill_nos=tuple(row["bill_nos"]),
            receipt_no=row["receipt_no"],
            biller_serial=row["biller_serial"],
            failure_code=row["failure_code"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            purpose=row["purpose"],
        )

    def for_channel(self, code_of_biller: CodeOfBiller) -> Payment:
        return Payment(
            id=self.id,
            order_id=self.order_id,
            channel_id=self.channel_id,
            status=self.status,
            biller=code_of_biller(self.biller_id),
            account_no=self.account_no,
            amount=self.amount,
            currency=self.currency,
            bill_nos=self.bill_nos,
            receipt_no=self.receipt_no,
            biller_serial=self.biller_serial,
            failure_code=self.failure_code,
            created_at=self.created_at,
            finished_at=self.finished_at,
            purpose=self.purpose,
        )

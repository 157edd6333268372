from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from utilipay.billers.schemas import Biller, CodeOfBiller
from utilipay.channels.schemas import Channel
from utilipay.common.validation import PRINTABLE
from utilipay.outlets.terminals import Tender, TerminalPayment

_ID = r"^[A-Za-z0-9_-]{1,64}$"
_BILL_NO = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_BILLS_PER_PAYMENT = 100


class PaymentKey(Protocol):
    """What names a payment: a row of ``payments`` (or of a query returning its keys), a
    ``StoredPayment``."""

    @property
    def biller_id(self) -> int: ...
    @property
    def id(self) -> str: ...


class PaymentStatus(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    # a terminal payment voided the same day (channel-api.md §11): the only moves after
    # SUCCEEDED; VOID_PENDING while a remote utility has not answered the refund
    VOID_PENDING = "VOID_PENDING"
    VOIDED = "VOIDED"


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


class TerminalPaymentRequest(PaymentRequest):
    """``POST /v1/payments`` from a terminal (§11): who took it, with what, and when."""

    operator: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] | None = None
    tender: Tender = Tender.CASH
    collected_at: Annotated[StrictStr, Field(max_length=40)] | None = None


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
    terminal: TerminalPayment | None = None  # taken at an outlet's terminal, from its float


@dataclass(frozen=True, slots=True)
class PaymentCore:
    """What a payment's row and a channel's view of it share."""

    id: str
    order_id: str
    channel_id: int
    status: PaymentStatus
    account_no: str
    amount: int
    currency: str
    bill_nos: tuple[str, ...]
    receipt_no: str | None
    biller_serial: str | None
    failure_code: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Payment(PaymentCore):
    """A payment as its channel sees it: the biller by its code."""

    biller: str
    purpose: str = "bills"  # or prepaid_topup: the amount went to a prepaid balance


@dataclass(frozen=True, slots=True)
class StoredPayment(PaymentCore):
    """A payment as its row holds it: the biller by its id, and the payer; what other areas
    read of ``payments``."""

    biller_id: int
    payer: str
    purpose: str
    request_hash: bytes  # the request that made it: a repeat of its order must be the same

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> StoredPayment:
        """From a row of ``payments`` (or of a query returning its columns)."""
        columns = {name: row[name] for name in _FIELDS_OF_STORED}
        columns.update(
            status=PaymentStatus(row["status"]),
            bill_nos=tuple(row["bill_nos"]),
            request_hash=bytes(row["request_hash"]),
        )
        return cls(**columns)

    def for_channel(self, code_of_biller: CodeOfBiller) -> Payment:
        shared = {name: getattr(self, name) for name in _SHARED}
        return Payment(**shared, biller=code_of_biller(self.biller_id), purpose=self.purpose)


_SHARED = tuple(f.name for f in fields(PaymentCore))
_FIELDS_OF_STORED = tuple(f.name for f in fields(StoredPayment))

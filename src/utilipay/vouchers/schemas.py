"""``POST /v1/vouchers/redeem`` (channel-api.md §12): the request and, for the OpenAPI
document, the answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from utilipay.common.validation import PRINTABLE

_ID = r"^[A-Za-z0-9_-]{1,64}$"


class RedeemRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    order_id: Annotated[StrictStr, Field(pattern=_ID, description="the channel's own unique id")]
    # any text up to 64: a PIN of the wrong shape is an invalid PIN like any other (§12)
    pin: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    biller: Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]


class AppliedBill(BaseModel):
    bill_no: str
    amount: int


class Applied(BaseModel):
    bills: list[AppliedBill]
    prepaid: int
    credit: int


class RedemptionOut(BaseModel):
    id: str
    status: str
    amount: int
    applied: Applied
    receipt_no: str | None

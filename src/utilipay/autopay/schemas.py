from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from utilipay.common.validation import PRINTABLE

_SOURCE_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


class MandateStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"


class DebitStatus(StrEnum):
    """``debits.status``: SCHEDULED and SENT are open, the others final."""

    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


class FundingSource(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: Annotated[StrictStr, Field(pattern=_SOURCE_ID)]
    label: Annotated[StrictStr, Field(max_length=64, pattern=PRINTABLE)] = ""


Sources = Annotated[list[FundingSource], Field(min_length=1, max_length=5)]


class MandateRequest(BaseModel):
    """``POST /v1/mandates`` (channel-api.md §8); funding sources in priority order."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    biller: Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    cap: StrictInt | None = None
    funding_sources: Sources
    # prepaid accounts only: the amount of an automatic top-up (自动充值) when the balance
    # runs low; an extension of channel-api.md §8
    topup_amount: StrictInt | None = None


class MandateChange(BaseModel):
    """``PATCH /v1/mandates/{id}``: a new priority of funding sources and/or a new cap."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    cap: StrictInt | None = None
    funding_sources: Sources | None = None
    topup_amount: StrictInt | None = None


@dataclass(frozen=True, slots=True)
class Mandate:
    id: str
    biller_id: int
    channel_id: int
    payer: str
    account_no: str
    cap: int
    funding_sources: tuple[FundingSource, ...]
    status: MandateStatus
    signed_at: datetime
    cancelled_at: datetime | None
    topup_amount: int | None = None

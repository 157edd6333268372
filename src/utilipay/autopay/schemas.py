from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from utilipay.common.validation import PRINTABLE
from utilipay.http.inputs import Fen

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


@dataclass(frozen=True, slots=True)
class Debit:
    """An open debit as a step of sending it reads its row (``autopay/send.py``)."""

    biller_id: int
    id: str
    mandate_id: str
    channel_id: int
    payer: str
    account_no: str
    purpose: str  # autopay (bills) or prepaid_topup
    bill_nos: tuple[str, ...]
    amount: int  # fen
    deadline: datetime
    source_index: int  # the funding source asked in this round, by priority
    rounds: int
    pending_source: str | None  # asked, its outcome not known yet
    channel_txn_id: str | None  # the money is taken
    episode: int | None  # a top-up's low-balance episode

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Debit:
        """From a row of ``debits``: its columns of these names."""
        return cls(**{f: row[f] for f in cls.__slots__ if f != "bill_nos"},
                   bill_nos=tuple(row["bill_nos"]))  # fmt: skip


class FundingSource(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: Annotated[StrictStr, Field(pattern=_SOURCE_ID)]
    label: Annotated[StrictStr, Field(max_length=64, pattern=PRINTABLE)] = ""


Sources = Annotated[list[FundingSource], Field(min_length=1, max_length=5)]
# the payer pages' sign-up request the channel authorised at its cashier (docs/h5.md)
SignupId = Annotated[StrictStr, Field(pattern=_SOURCE_ID)]


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
    signup_id: SignupId | None = None


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
    signup_id: str | None = None


class EnrolmentRequest(BaseModel):
    """``POST /v1/prepaid/enrolments`` (channel-api.md §13): smart payment (智能交费)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    biller: Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    reminder: Fen  # 提醒金额
    topup_amount: StrictInt | None = None  # 充值金额: with it, an automatic top-up mandate
    funding_sources: Sources | None = None  # the top-up's, in priority order
    signup_id: SignupId | None = None  # the top-up's: the payer pages' request, if any


class EnrolmentChange(BaseModel):
    """``PATCH /v1/prepaid/enrolments/{id}``: the fields named change; ``topup_amount``
    null cancels the automatic top-up."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    reminder: Fen | None = None
    topup_amount: StrictInt | None = None
    funding_sources: Sources | None = None

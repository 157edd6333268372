from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from utilipay.common.validation import PRINTABLE

Payer = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
BillerCode = Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
AccountNo = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]


class VerificationRequest(BaseModel):
    """``"verification"`` of ``POST /v1/bindings`` (§13): exactly one of the two."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    holder_name: Annotated[StrictStr | None, Field(min_length=1, max_length=64)] = None
    sms_code: Annotated[StrictStr | None, Field(pattern=r"^[0-9]{6}$")] = None

    @model_validator(mode="after")
    def _one_of_them(self) -> Self:
        if (self.holder_name is None) == (self.sms_code is None):
            raise ValueError("give exactly one of holder_name and sms_code")
        return self


class BindingRequest(BaseModel):
    """``POST /v1/bindings`` (channel-api.md §4, §13)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    payer: Payer
    biller: BillerCode
    account: AccountNo
    verification: VerificationRequest | None = None


class ChallengeRequest(BaseModel):
    """``POST /v1/bindings/challenges`` (channel-api.md §13)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    payer: Payer
    biller: BillerCode
    account: AccountNo


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    payer: str
    biller: str
    account_no: str
    holder: str
    created_at: datetime
    verified_at: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from utilipay.common.validation import PRINTABLE


class BindingRequest(BaseModel):
    """``POST /v1/bindings`` (channel-api.md §4)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    biller: Annotated[StrictStr, Field(max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    payer: str
    biller: str
    account_no: str
    holder: str
    created_at: datetime

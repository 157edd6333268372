"""The channel's book of debits the hub asked for (channel-api.md §9), and the money it took.

``debit_id`` plus ``funding_source`` is the idempotency key: the first request
for a pair decides its outcome, takes the money if it is to be taken, and every
later request for that pair is answered from the record, never acted on again.
One lock guards the book: requests arrive on the server's threads and tests
read the ledger from their own.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from utilipay.clock import Clock, to_shanghai_iso
from utilipay.common.validation import PRINTABLE
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import CNY, MAX_FEN
from utilipay_tools.channelsim.outcomes import Outcome

_ID = r"^[A-Za-z0-9_-]{1,64}$"
_BILL_NO = r"^[A-Za-z0-9_.-]{1,64}$"


class Purpose(StrEnum):
    AUTOPAY = "autopay"
    PREPAID_TOPUP = "prepaid_topup"


class DebitStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PROCESSING = "PROCESSING"


class DebitRequest(BaseModel):
    """The hub's ``POST <debit URL>`` body. Nothing is coerced; unknown fields are refused,
    so a hub that misspells a field finds out in its tests, not in production."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    debit_id: Annotated[StrictStr, Field(pattern=_ID)]
    mandate_id: Annotated[StrictStr, Field(pattern=_ID)]
    payer: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    funding_source: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_FEN, description="fen")]
    currency: Literal["CNY"]
    purpose: Purpose
    biller: Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=PRINTABLE)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    bill_nos: Annotated[list[Annotated[StrictStr, Field(pattern=_BILL_NO)]], Field(max_length=100)]

    @model_validator(mode="after")
    def _autopay_names_its_bills(self) -> DebitRequest:
        # A top-up buys credit and has no bill; an auto-pay debit is for the bills it lists.
        if self.purpose is Purpose.AUTOPAY and not self.bill_nos:
            raise ValueError("an autopay debit must list the bills it pays")
        return self


@dataclass(frozen=True, slots=True)
class DebitAnswer:
    debit_id: str
    status: DebitStatus
    channel_txn_id: str | None  # None when nothing was taken

    def to_json(self) -> dict[str, Any]:
        return {
            "debit_id": self.debit_id,
            "status": self.status,
            "channel_txn_id": self.channel_txn_id,
        }


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """Money the channel took from a payer."""

    debit_id: str
    funding_source: str
    payer: str
    amount: int  # fen
    channel_txn_id: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "debit_id": self.debit_id,
            "funding_source": self.funding_source,
            "payer": self.payer,
            "amount": self.amount,
            "currency": CNY,
            "channel_txn_id": self.channel_txn_id,
            "at": to_shanghai_iso(self.at),
        }


@dataclass(slots=True)
class _Record:
    request: DebitRequest
    status: DebitStatus
    channel_txn_id: str | None
    lookups_to_settle: int  # PROCESSING only: the lookup that brings it to 0 answers SUCCEEDED

    def answer(self) -> DebitAnswer:
        return DebitAnswer(self.request.debit_id, self.status, self.channel_txn_id)


_FIRST_STATUS = {
    Outcome.SUCCESS: DebitStatus.SUCCEEDED,
    Outcome.DECLINED: DebitStatus.DECLINED,
    Outcome.INSUFFICIENT: DebitStatus.INSUFFICIENT_FUNDS,
    Outcome.PROCESSING: DebitStatus.PROCESSING,
    # The money is taken at once; only the answer is late (the app holds it back).
    Outcome.TIMEOUT: DebitStatus.SUCCEEDED,
}


class DebitBook:
    def __init__(self, clock: Clock, settle_after: int) -> None:
        self._clock = clock
        self._settle_after = settle_after
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], _Record] = {}
        self._ledger: list[LedgerEntry] = []

    def take(self, request: DebitRequest, outcome: Outcome) -> tuple[DebitAnswer, bool]:
        """The answer to a debit request, and whether this request was the first of its pair
        (a repeat is answered from the record: 409 if it asks for something else)."""
        key = (request.debit_id, request.funding_source)
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                if record.request != request:
                    raise DomainError(
                        ErrorCode.IDEMPOTENCY_CONFLICT,
                        f"debit {key[0]!r} on {key[1]!r} was already asked with another body",
                    )
                return record.answer(), False
            record = self._open(request, _FIRST_STATUS[outcome])
            self._records[key] = record
            return record.answer(), True

    def look_up(self, debit_id: str, funding_source: str) -> DebitAnswer:
        """``GET <debit URL>/{debit_id}``: a PROCESSING debit settles after ``settle_after``
        lookups."""
        with self._lock:
            record = self._records.get((debit_id, funding_source))
            if record is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, f"no debit {debit_id!r} on {funding_source!r}"
                )
            if record.status is DebitStatus.PROCESSING:
                record.lookups_to_settle -= 1
                if record.lookups_to_settle <= 0:
                    record.status = DebitStatus.SUCCEEDED
            return record.answer()

    def ledger(self) -> tuple[LedgerEntry, ...]:
        with self._lock:
            return tuple(self._ledger)

    def taken_twice(self) -> list[str]:
        """Debit ids the payer was charged for more than once (on any funding sources)."""
        with self._lock:
            counts = Counter(entry.debit_id for entry in self._ledger)
        return sorted(debit_id for debit_id, n in counts.items() if n > 1)

    def _open(self, request: DebitRequest, status: DebitStatus) -> _Record:
        """A new record; the money is taken now unless the debit was refused (lock held)."""
        if status in (DebitStatus.DECLINED, DebitStatus.INSUFFICIENT_FUNDS):
            return _Record(request, status, None, 0)
        txn_id = f"CT{len(self._ledger) + 1:010d}"
        self._ledger.append(
            LedgerEntry(
                debit_id=request.debit_id,
                funding_source=request.funding_source,
                payer=request.payer,
                amount=request.amount,
                channel_txn_id=txn_id,
                at=self._clock.now(),
            )
        )
        return _Record(request, status, txn_id, self._settle_after)

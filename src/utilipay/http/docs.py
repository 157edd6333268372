"""Response shapes of the channel API, for the OpenAPI document (``/openapi.json``).

Handlers build their JSON directly (it is the hot path); these models document it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class BillerOut(BaseModel):
    code: str
    name: str
    category: str
    region: str
    account_hint: str
    verification: str  # hub extension (§13): none | holder_name | sms


class BillersOut(BaseModel):
    billers: list[BillerOut]


class BindingOut(BaseModel):
    id: str
    payer: str
    biller: str
    account: str
    holder: str
    created_at: str
    verified: bool  # §13
    verified_at: str | None  # hub extension: when the payer last passed a verification


class ChallengeOut(BaseModel):
    """``POST /v1/bindings/challenges`` (§13, its answer a hub extension)."""

    id: str
    expires_at: str
    phone: str  # masked: 138****8000


class RemindersOut(BaseModel):
    kinds: list[str] | None  # issued | due_soon | overdue; null: inherited
    days_before: int | None
    means: list[str] | None  # channel | sms | email


class BindingWithReminders(BindingOut):
    reminders: RemindersOut


class BindingsOut(BaseModel):
    bindings: list[BindingOut]


class BillOut(BaseModel):
    bill_no: str
    period: str
    amount: int
    late_fee: int
    due_date: str


class BillsOut(BaseModel):
    biller: str
    account: str
    holder: str
    bills: list[BillOut]
    total: int
    currency: str


class PaymentOut(BaseModel):
    id: str
    order_id: str
    status: str
    biller: str
    account: str
    amount: int
    currency: str
    bill_nos: list[str]
    receipt_no: str | None = None
    biller_serial: str | None = None
    failure_code: str | None = None
    created_at: str
    finished_at: str | None = None


class PaymentsPageOut(BaseModel):
    """A page of a payer's payments (``GET /v1/payments?payer=…``, channel-api.md §13)."""

    payments: list[PaymentOut]
    next_cursor: str | None  # null on the last page


class FundingSourceOut(BaseModel):
    id: str
    label: str


class EnrolmentOut(BaseModel):
    """A smart-payment enrolment (channel-api.md §13)."""

    id: str
    payer: str
    biller: str
    account: str
    reminder: int
    topup_amount: int | None
    funding_sources: list[FundingSourceOut]
    mandate: str | None
    state: str  # the prepaid account's: NORMAL | LOW | ARREARS | CUT
    balance: int
    currency: str
    enrolled_at: str


class EnrolmentsOut(BaseModel):
    enrolments: list[EnrolmentOut]


class StatementTopUpOut(BaseModel):
    id: str
    date: str
    amount: int


class StatementDayOut(BaseModel):
    date: str
    usage: str
    charge: int
    balance: int


class StatementOut(BaseModel):
    """A prepaid account's issued monthly statement (channel-api.md §13)."""

    biller: str
    account: str
    month: str
    currency: str
    opening: int
    top_ups: list[StatementTopUpOut]
    top_ups_total: int
    days: list[StatementDayOut]
    usage: str
    charges: int
    closing: int
    points: int
    issued_at: str


class Problem(BaseModel):
    """RFC 9457 problem details; some refusals add members (``errors`` of a rejected import)."""

    type: str
    title: str
    status: int
    code: str
    detail: str


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route may answer besides every route's (``api.openapi`` adds those
    and documents them all as problem+json)."""
    return {status: {"description": "problem+json"} for status in statuses}


PROBLEMS = problems(403, 404, 409, 422, 503)
ADMIN_PROBLEMS = problems(404, 409)
BODY_MODELS: list[type[BaseModel]] = []  # what ``json_body`` documented, for the components


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a handler that reads its body itself (to verify the signature)."""
    BODY_MODELS.append(model)
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def raw_body(*media_types: str) -> dict[str, Any]:
    """``openapi_extra`` for a body taken as it is (a file)."""
    content = {media_type: {"schema": {"type": "string"}} for media_type in media_types}
    return {"requestBody": {"required": True, "content": content}}

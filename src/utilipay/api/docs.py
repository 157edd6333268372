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


class BillersOut(BaseModel):
    billers: list[BillerOut]


class BindingOut(BaseModel):
    id: str
    payer: str
    biller: str
    account: str
    holder: str
    created_at: str


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


class Problem(BaseModel):
    type: str
    title: str
    status: int
    code: str
    detail: str


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": "problem+json"}
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a handler that reads its body itself (to verify the signature)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }

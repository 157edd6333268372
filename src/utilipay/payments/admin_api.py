"""The admin API (for the console that comes later): the exceptions queue.

- ``GET /admin/v1/exceptions[?kind=K]``: every open item, oldest first, with its
  evidence and the outcomes that fit it;
- ``POST /admin/v1/exceptions/{id}/resolve`` {outcome, reason, biller_serial?,
  reference?}: what a person found out or did, audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, StrictStr
from starlette.responses import Response

from utilipay.access.auth import OpsReader, OpsWriter
from utilipay.billers.lookup import BillerHost
from utilipay.clock import to_shanghai_iso
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.inputs import IdPath, Reason, text_field
from utilipay.http.json import json_response, parse_body
from utilipay.payments import exceptions

router = APIRouter(prefix="/admin/v1", tags=["admin"])


class ResolveRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    outcome: exceptions.Resolution
    reason: Reason
    biller_serial: Annotated[StrictStr, text_field(64)] | None = None
    # REFUNDED: the channel's refund reference; BOOKED_LATE: the payment that booked it
    reference: Annotated[StrictStr, text_field(200)] | None = None


def exception_out(hub: BillerHost, e: exceptions.OpenException) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "payment_id": e.payment_id,
        "order_id": e.order_id,
        "channel": e.channel_code,
        "biller": hub.biller_code(e.biller_id) if e.biller_id is not None else None,
        "account": e.account_no,
        "amount": e.amount,
        "reason": e.reason,
        "opened_at": to_shanghai_iso(e.opened_at),
        "evidence": e.evidence,
        "outcomes": list(e.outcomes),
    }


@router.get("/exceptions", responses=ADMIN_PROBLEMS)
async def list_exceptions(
    request: Request, actor: OpsReader, kind: Annotated[exceptions.Kind | None, Query()] = None
) -> Response:
    hub: BillerHost = request.app.state.hub
    async with hub.engine.connect() as conn:
        found = await exceptions.list_open(conn, kind)
    return json_response({"exceptions": [exception_out(hub, e) for e in found]})


@router.post(
    "/exceptions/{exception_id}/resolve",
    responses=ADMIN_PROBLEMS,
    openapi_extra=json_body(ResolveRequest),
)
async def resolve_exception(exception_id: IdPath, request: Request, actor: OpsWriter) -> Response:
    hub: BillerHost = request.app.state.hub
    body = parse_body(ResolveRequest, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        state = await exceptions.resolve(
            conn,
            hub.clock,
            exception_id,
            body.outcome,
            actor=actor,
            reason=body.reason,
            biller_serial=body.biller_serial,
            reference=body.reference,
        )
    return json_response(
        {"id": exception_id, "outcome": body.outcome, "payment": state, "resolved_by": actor}
    )

"""The admin API (for the console that comes later): the exceptions queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, StrictStr
from starlette.responses import Response

from utilipay.admin.auth import admin_actor
from utilipay.api.docs import ADMIN_PROBLEMS, json_body
from utilipay.api.hub import Hub
from utilipay.api.inputs import IdPath, Reason, text_field
from utilipay.api.json import json_response, parse_body
from utilipay.clock import to_shanghai_iso
from utilipay.payments import exceptions

router = APIRouter(prefix="/admin/v1", tags=["admin"])
Actor = Annotated[str, Depends(admin_actor)]


class ResolveRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    outcome: exceptions.Resolution
    reason: Reason
    biller_serial: Annotated[StrictStr, text_field(64)] | None = None


@router.get("/exceptions", responses=ADMIN_PROBLEMS)
async def list_exceptions(request: Request, actor: Actor) -> Response:
    hub: Hub = request.app.state.hub
    async with hub.engine.connect() as conn:
        found = await exceptions.list_open(conn)
    items: list[dict[str, Any]] = [
        {
            "id": e.id,
            "payment_id": e.payment_id,
            "order_id": e.order_id,
            "biller": hub.biller_code(e.biller_id),
            "account": e.account_no,
            "amount": e.amount,
            "reason": e.reason,
            "opened_at": to_shanghai_iso(e.opened_at),
        }
        for e in found
    ]
    return json_response({"exceptions": items})


@router.post(
    "/exceptions/{exception_id}/resolve",
    responses=ADMIN_PROBLEMS,
    openapi_extra=json_body(ResolveRequest),
)
async def resolve_exception(exception_id: IdPath, request: Request, actor: Actor) -> Response:
    hub: Hub = request.app.state.hub
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
        )
    return json_response({"id": exception_id, "payment": state, "resolved_by": actor})

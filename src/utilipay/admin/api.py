"""The admin API (for the console that comes later): the exceptions queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.responses import Response

from utilipay.admin.auth import OpsReader, OpsWriter
from utilipay.api.hub import Hub
from utilipay.api.json import json_response, parse_body
from utilipay.clock import to_shanghai_iso
from utilipay.payments import exceptions

router = APIRouter(prefix="/admin/v1", tags=["admin"])


class ResolveRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    outcome: exceptions.Resolution
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    biller_serial: Annotated[StrictStr, Field(max_length=64)] | None = None


@router.get("/exceptions")
async def list_exceptions(request: Request, actor: OpsReader) -> Response:
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


@router.post("/exceptions/{exception_id}/resolve")
async def resolve_exception(exception_id: int, request: Request, actor: OpsWriter) -> Response:
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

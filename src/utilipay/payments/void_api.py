"""The terminal's void and shift close over HTTP (channel-api.md §11).

Both routes act for the terminal that signed the request (``X-Utilipay-Terminal``, its own
secret): its outlet is the one whose payment is voided or whose operator's shift closes. A
channel's own signature is not enough (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from utilipay.billers.lookup import BillerHost
from utilipay.billers.remote import RemoteBillers
from utilipay.channels.requests import signed
from utilipay.clock import to_shanghai_iso
from utilipay.common.validation import PRINTABLE
from utilipay.http.docs import PROBLEMS, json_body
from utilipay.http.inputs import text_path
from utilipay.http.json import json_response, parse_body
from utilipay.outlets import shifts
from utilipay.outlets.auth import Terminal, terminal_required
from utilipay.payments import voids
from utilipay.payments.views import payment_out

router = APIRouter(prefix="/v1", tags=["outlets"])
_OPERATOR = r"^[A-Za-z0-9_.-]{1,32}$"


@dataclass(frozen=True, slots=True)
class TerminalRequest:
    terminal: Terminal
    body: bytes


async def signed_by_terminal(request: Request) -> TerminalRequest:
    """The signed request's terminal (401 unsigned, 403 a channel's own signature); its
    nonce recorded at once, since the services open their own transactions."""
    ctx = await signed(request)
    terminal = terminal_required(ctx.call)
    await ctx.record_nonce()
    return TerminalRequest(terminal, ctx.body)


class VoidsHost(BillerHost, Protocol):
    @property
    def remote_billers(self) -> RemoteBillers: ...


class VoidBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    operator: Annotated[StrictStr, Field(pattern=_OPERATOR)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=PRINTABLE)]


class ShiftCloseBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    operator: Annotated[StrictStr, Field(pattern=_OPERATOR)]
    counted_cash: Annotated[StrictInt, Field(ge=0, description="fen")]


@router.post(
    "/payments/{payment_id}/void",
    responses={202: {"description": "VOID_PENDING: a payment.voided webhook follows"}, **PROBLEMS},
    openapi_extra=json_body(VoidBody),
)
async def void_payment(
    request: Request,
    payment_id: Annotated[str, text_path(64)],
    signed_request: Annotated[TerminalRequest, Depends(signed_by_terminal)],
) -> Response:
    hub: VoidsHost = request.app.state.hub
    body = parse_body(VoidBody, signed_request.body, request.headers.get("content-type"))
    outlet_id = signed_request.terminal.outlet_id
    asked = voids.VoidRequest(outlet_id, payment_id, body.operator, body.reason)
    result = await voids.void(hub.engine, hub.clock, hub.remote_billers, hub.biller_by_id, asked)
    out = payment_out(result.payment.for_channel(hub.biller_code))
    return json_response(out, 202 if result.pending else 200)


@router.post("/outlet/shifts/close", responses=PROBLEMS, openapi_extra=json_body(ShiftCloseBody))
async def close_shift(
    request: Request,
    signed_request: Annotated[TerminalRequest, Depends(signed_by_terminal)],
) -> Response:
    hub: VoidsHost = request.app.state.hub
    body = parse_body(ShiftCloseBody, signed_request.body, request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        shift = await shifts.close_shift(
            conn, hub.clock, outlet_id=signed_request.terminal.outlet_id,
            operator_code=body.operator,
            counted_cash=body.counted_cash,
        )  # fmt: skip
    return json_response({
        "shift_id": str(shift.shift_id), "operator": shift.operator,
        "opened_at": to_shanghai_iso(shift.opened_at),
        "closed_at": to_shanghai_iso(shift.closed_at),
        "count": shift.count, "amount": shift.amount, "cash_expected": shift.cash_expected,
        "cash_counted": shift.cash_counted, "difference": shift.difference, "voids": shift.voids,
    })  # fmt: skip

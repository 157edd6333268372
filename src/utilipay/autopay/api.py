"""The mandates of channel-api.md §8."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.autopay import mandates as service
from utilipay.autopay.schemas import Mandate, MandateChange, MandateRequest
from utilipay.billers.lookup import BillerHost, active_biller
from utilipay.billers.schemas import Biller
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import PROBLEMS, json_body
from utilipay.http.inputs import text_path, text_query
from utilipay.http.json import json_response, parse_body

router = APIRouter(prefix="/v1", tags=["mandates"])
MandateId = Annotated[str, text_path(64)]


def mandate_out(m: Mandate, biller_code: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "status": m.status,
        "payer": m.payer,
        "biller": biller_code,
        "account": m.account_no,
        "cap": m.cap,
        "currency": "CNY",
        "funding_sources": [s.model_dump() for s in m.funding_sources],
        "signed_at": to_shanghai_iso(m.signed_at),
    }
    if m.topup_amount is not None:
        out["topup_amount"] = m.topup_amount
    if m.cancelled_at is not None:
        out["cancelled_at"] = to_shanghai_iso(m.cancelled_at)
    return out


def _biller_of(hub: BillerHost, mandate: Mandate) -> Biller:
    biller = hub.biller_by_id(mandate.biller_id)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, "the mandate's biller is gone")
    return biller


@router.post(
    "/mandates", status_code=201, responses=PROBLEMS, openapi_extra=json_body(MandateRequest)
)
async def sign_mandate(request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(MandateRequest, ctx.body, request.headers.get("content-type"))
    biller = active_biller(hub.biller(body.biller), body.biller)
    biller.rule.check(biller.code, body.account)
    service.require_debit_url(ctx.channel)
    await ctx.record_nonce()
    # the biller confirms the account first, outside any transaction (a remote one is slow)
    await hub.connectors.for_biller(biller).query(hub.engine, biller, body.account)
    async with hub.engine.begin() as conn:
        mandate = await service.sign(conn, hub.clock, ctx.channel, biller, body)
    return json_response(mandate_out(mandate, biller.code), 201)


@router.get("/mandates", responses=PROBLEMS)
async def list_mandates(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    payer: Annotated[str, text_query(128)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        found = await service.for_payer(conn, ctx.channel, payer)
    return json_response(
        {"mandates": [mandate_out(m, hub.biller_code(m.biller_id)) for m in found]}
    )


@router.get("/mandates/{mandate_id}", responses=PROBLEMS)
async def show_mandate(
    request: Request, mandate_id: MandateId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        mandate = await service.find(conn, ctx.channel, mandate_id)
    return json_response(mandate_out(mandate, hub.biller_code(mandate.biller_id)))


@router.patch("/mandates/{mandate_id}", responses=PROBLEMS, openapi_extra=json_body(MandateChange))
async def change_mandate(mandate_id: MandateId, request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(MandateChange, ctx.body, request.headers.get("content-type"))
    async with ctx.transaction() as conn:
        current = await service.find(conn, ctx.channel, mandate_id)
        biller = _biller_of(hub, current)
        mandate = await service.change(conn, hub.clock, ctx.channel, biller, mandate_id, body)
    return json_response(mandate_out(mandate, biller.code))


@router.delete("/mandates/{mandate_id}", responses=PROBLEMS)
async def cancel_mandate(
    request: Request, mandate_id: MandateId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        current = await service.find(conn, ctx.channel, mandate_id)
        biller = _biller_of(hub, current)
        mandate = await service.cancel(conn, hub.clock, ctx.channel, biller, mandate_id)
    return json_response(mandate_out(mandate, biller.code))


@router.get("/mandates/{mandate_id}/debits", responses=PROBLEMS)
async def mandate_debits(
    mandate_id: MandateId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    async with ctx.transaction() as conn:
        mandate = await service.find(conn, ctx.channel, mandate_id)
        history = await service.debit_history(conn, mandate)
    return json_response({"debits": history})

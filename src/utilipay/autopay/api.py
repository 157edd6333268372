"""The mandates of channel-api.md §8, and smart payment (§13): enrolments and the monthly
statements of prepaid accounts."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.autopay import enrolments
from utilipay.autopay import mandates as service
from utilipay.autopay.enrolments import Enrolment
from utilipay.autopay.schemas import (
    EnrolmentChange,
    EnrolmentRequest,
    Mandate,
    MandateChange,
    MandateRequest,
)
from utilipay.billers.lookup import BillerHost, active_biller, held_biller
from utilipay.billers.schemas import Biller
from utilipay.bindings.service import verified_binding
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.http.docs import PROBLEMS, EnrolmentOut, EnrolmentsOut, StatementOut, json_body
from utilipay.http.inputs import text_path, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.prepaid.statements import Statement

router = APIRouter(prefix="/v1", tags=["mandates"])
MandateId = Annotated[str, text_path(64)]
SMART: list[str | Enum] = ["smart payment"]  # §13, beside the mandates of its top-ups
EnrolmentId = Annotated[str, text_path(64)]
Month = Annotated[str, Query(pattern=r"^(20\d\d)-(0[1-9]|1[0-2])$", description="YYYY-MM")]


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


async def _own_mandate(
    conn: AsyncConnection, hub: BillerHost, ctx: RequestContext, mandate_id: str
) -> tuple[Mandate, Biller]:
    """A mandate of this channel and its biller, for its payer only through a verified
    binding (§13); one whose binding is gone keeps the answers it had before."""
    mandate = await service.find(conn, ctx.channel, mandate_id)
    biller = held_biller(hub, mandate.biller_id)
    await verified_binding(conn, ctx.channel, biller, mandate.payer, mandate.account_no)
    return mandate, biller


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
        mandate, biller = await _own_mandate(conn, hub, ctx, mandate_id)
    return json_response(mandate_out(mandate, biller.code))


@router.patch("/mandates/{mandate_id}", responses=PROBLEMS, openapi_extra=json_body(MandateChange))
async def change_mandate(mandate_id: MandateId, request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(MandateChange, ctx.body, request.headers.get("content-type"))
    async with ctx.transaction() as conn:
        _, biller = await _own_mandate(conn, hub, ctx, mandate_id)
        mandate = await service.change(conn, hub.clock, ctx.channel, biller, mandate_id, body)
    return json_response(mandate_out(mandate, biller.code))


@router.delete("/mandates/{mandate_id}", responses=PROBLEMS)
async def cancel_mandate(
    request: Request, mandate_id: MandateId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        _, biller = await _own_mandate(conn, hub, ctx, mandate_id)
        mandate = await service.cancel(conn, hub.clock, ctx.channel, biller, mandate_id)
    return json_response(mandate_out(mandate, biller.code))


@router.get("/mandates/{mandate_id}/debits", responses=PROBLEMS)
async def mandate_debits(
    request: Request, mandate_id: MandateId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: BillerHost = request.app.state.hub
    async with ctx.transaction() as conn:
        mandate, _ = await _own_mandate(conn, hub, ctx, mandate_id)
        history = await service.debit_history(conn, mandate)
    return json_response({"debits": history})


# ------------------------------------------------- smart payment (§13)


def enrolment_out(e: Enrolment, biller_code: str) -> dict[str, object]:
    m = e.mandate
    return {
        "id": e.id,
        "payer": e.payer,
        "biller": biller_code,
        "account": e.account.account_no,
        "reminder": e.account.reminder,
        "topup_amount": m.topup_amount if m else None,
        "funding_sources": [s.model_dump() for s in m.funding_sources] if m else [],
        "mandate": m.id if m else None,
        "state": e.account.state,
        "balance": e.account.balance,
        "currency": e.account.currency,
        "enrolled_at": to_shanghai_iso(e.enrolled_at),
    }


@router.post(
    "/prepaid/enrolments",
    tags=SMART,
    status_code=201,
    response_model=EnrolmentOut,
    responses=PROBLEMS,
    openapi_extra=json_body(EnrolmentRequest),
)
async def enrol(request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(EnrolmentRequest, ctx.body, request.headers.get("content-type"))
    biller = active_biller(hub.biller(body.biller), body.biller)
    biller.rule.check(biller.code, body.account)
    # a prepaid account is a hosted biller's: the database confirms it, no remote call
    async with ctx.transaction() as conn:
        enrolment, created = await enrolments.enrol(conn, hub.clock, ctx.channel, biller, body)
    return json_response(enrolment_out(enrolment, biller.code), 201 if created else 200)


@router.get("/prepaid/enrolments", tags=SMART, response_model=EnrolmentsOut, responses=PROBLEMS)
async def list_enrolments(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    payer: Annotated[str, text_query(128)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        found = await enrolments.for_payer(conn, ctx.channel, payer, lambda b: held_biller(hub, b))
    return json_response(
        {"enrolments": [enrolment_out(e, hub.biller_code(e.account.biller_id)) for e in found]}
    )


@router.get(
    "/prepaid/enrolments/{enrolment_id}",
    tags=SMART,
    response_model=EnrolmentOut,
    responses=PROBLEMS,
)
async def show_enrolment(
    request: Request, enrolment_id: EnrolmentId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        row = await enrolments.find_row(conn, ctx.channel, enrolment_id)
        biller = held_biller(hub, row.biller_id)
        enrolment = await enrolments.show(conn, ctx.channel, biller, row)
    return json_response(enrolment_out(enrolment, biller.code))


@router.patch(
    "/prepaid/enrolments/{enrolment_id}",
    tags=SMART,
    response_model=EnrolmentOut,
    responses=PROBLEMS,
    openapi_extra=json_body(EnrolmentChange),
)
async def change_enrolment(enrolment_id: EnrolmentId, request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(EnrolmentChange, ctx.body, request.headers.get("content-type"))
    async with ctx.transaction() as conn:
        row = await enrolments.find_row(conn, ctx.channel, enrolment_id)
        biller = held_biller(hub, row.biller_id)
        enrolment = await enrolments.change(conn, hub.clock, ctx.channel, biller, row, body)
    return json_response(enrolment_out(enrolment, biller.code))


@router.get("/prepaid/statements", tags=SMART, response_model=StatementOut, responses=PROBLEMS)
async def monthly_statement(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    biller: Annotated[str, text_query(32)],
    account: Annotated[str, text_query(128)],
    month: Month,
    payer: Annotated[str, text_query(128)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    found = active_biller(hub.biller(biller), biller)
    first_day = date.fromisoformat(f"{month}-01")
    async with ctx.transaction() as conn:
        issued = await enrolments.statement(conn, ctx.channel, found, payer, account, first_day)
    return json_response(statement_out(issued, found.code))


def statement_out(statement: Statement, biller_code: str) -> dict[str, object]:
    s = statement
    return {
        "biller": biller_code,
        "account": s.account_no,
        "month": f"{s.month:%Y-%m}",
        "currency": "CNY",
        "opening": s.opening,
        "top_ups": [{"id": t.payment_id, "date": t.day.isoformat(), "amount": t.amount}
                    for t in s.top_ups],
        "top_ups_total": s.top_ups_total,
        "days": [{"date": d.day.isoformat(), "usage": str(d.usage), "charge": d.posted,
                  "balance": d.balance_after} for d in s.days],
        "usage": str(s.usage),
        "charges": s.charges,
        "closing": s.closing,
        "points": s.points,
        "issued_at": to_shanghai_iso(s.issued_at),
    }  # fmt: skip

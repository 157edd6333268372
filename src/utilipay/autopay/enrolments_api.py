"""Smart payment over the channel API (channel-api.md §13): enrolments and the monthly
statements of prepaid accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.autopay import enrolments as service
from utilipay.autopay.enrolments import Enrolment
from utilipay.autopay.schemas import EnrolmentChange, EnrolmentRequest
from utilipay.billers.lookup import BillerHost, active_biller
from utilipay.billers.schemas import Biller
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import PROBLEMS, json_body
from utilipay.http.inputs import text_path, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.prepaid.statements import Statement

router = APIRouter(prefix="/v1/prepaid", tags=["smart payment"])
EnrolmentId = Annotated[str, text_path(64)]
Text = Annotated[str, text_query(128)]
Month = Annotated[str, Query(pattern=r"^(20\d\d)-(0[1-9]|1[0-2])$", description="YYYY-MM")]


def enrolment_out(e: Enrolment, biller_code: str) -> dict[str, Any]:
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


def _biller_of(hub: BillerHost, biller_id: int) -> Biller:
    biller = hub.biller_by_id(biller_id)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, "the enrolment's biller is gone")
    return biller


@router.post(
    "/enrolments", status_code=201, responses=PROBLEMS, openapi_extra=json_body(EnrolmentRequest)
)
async def enrol(request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(EnrolmentRequest, ctx.body, request.headers.get("content-type"))
    biller = active_biller(hub.biller(body.biller), body.biller)
    biller.rule.check(biller.code, body.account)
    # a prepaid account is a hosted biller's: the database confirms it, no remote call
    async with ctx.transaction() as conn:
        enrolment, created = await service.enrol(conn, hub.clock, ctx.channel, biller, body)
    return json_response(enrolment_out(enrolment, biller.code), 201 if created else 200)


@router.get("/enrolments", responses=PROBLEMS)
async def list_enrolments(
    request: Request, ctx: Annotated[RequestContext, Depends(signed)], payer: Text
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        found = await service.for_payer(conn, ctx.channel, payer, lambda b: _biller_of(hub, b))
    return json_response(
        {"enrolments": [enrolment_out(e, hub.biller_code(e.account.biller_id)) for e in found]}
    )


@router.get("/enrolments/{enrolment_id}", responses=PROBLEMS)
async def show_enrolment(
    request: Request, enrolment_id: EnrolmentId, ctx: Annotated[RequestContext, Depends(signed)]
) -> Response:
    hub: AccountsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        row = await service.find_row(conn, ctx.channel, enrolment_id)
        biller = _biller_of(hub, row.biller_id)
        enrolment = await service.show(conn, ctx.channel, biller, row)
    return json_response(enrolment_out(enrolment, biller.code))


@router.patch(
    "/enrolments/{enrolment_id}", responses=PROBLEMS, openapi_extra=json_body(EnrolmentChange)
)
async def change_enrolment(enrolment_id: EnrolmentId, request: Request) -> Response:
    hub: AccountsHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(EnrolmentChange, ctx.body, request.headers.get("content-type"))
    async with ctx.transaction() as conn:
        row = await service.find_row(conn, ctx.channel, enrolment_id)
        biller = _biller_of(hub, row.biller_id)
        enrolment = await service.change(conn, hub.clock, ctx.channel, biller, row, body)
    return json_response(enrolment_out(enrolment, biller.code))


@router.get("/statements", responses=PROBLEMS)
async def monthly_statement(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    biller: Annotated[str, text_query(32)],
    account: Text,
    month: Month,
    payer: Text,
) -> Response:
    hub: AccountsHost = request.app.state.hub
    found = active_biller(hub.biller(biller), biller)
    first_day = date.fromisoformat(f"{month}-01")
    async with ctx.transaction() as conn:
        issued = await service.statement(conn, ctx.channel, found, payer, account, first_day)
    return json_response(statement_out(issued, found.code))


def statement_out(statement: Statement, biller_code: str) -> dict[str, Any]:
    s = statement.issued
    return {
        "biller": biller_code,
        "account": s.account_no,
        "month": f"{s.month:%Y-%m}",
        "currency": "CNY",
        "opening": s.opening_balance,
        "top_ups": [{"id": t.id, "date": t.day.isoformat(), "amount": t.amount}
                    for t in statement.top_ups],
        "top_ups_total": s.top_ups,
        "days": [{"date": d.day.isoformat(), "usage": str(d.usage), "charge": d.posted,
                  "balance": d.balance_after} for d in statement.days],
        "usage": str(s.usage),
        "charges": s.charges,
        "closing": s.closing_balance,
        "points": s.points,
        "issued_at": to_shanghai_iso(s.issued_at),
    }  # fmt: skip

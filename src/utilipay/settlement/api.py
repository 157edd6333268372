"""The admin API for settlement (清分结算): run a day, read it, fetch its file, and tell the
hub where utilities are paid and what fees apply. Each request is one transaction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from utilipay.access.auth import OpsReader, SettlementWriter
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.host import Host
from utilipay.http.inputs import Day, Fen, day_query, text_field, text_path, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.settlement import config, files, payouts, service

router = APIRouter(prefix="/admin/v1/settlements", tags=["admin"])
Code = Annotated[StrictStr, text_field(32)]
CodePath = Annotated[str, text_path(32)]


class RunIn(BaseModel):
    model_config = ConfigDict(strict=False, extra="forbid")

    date: Day
    biller: Code | None = None
    overdue_days: Annotated[StrictInt, Field(ge=0, le=366)] = payouts.DEFAULT_OVERDUE_DAYS


class AccountIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    account_no: Annotated[StrictStr, text_field(34)]
    account_name: Annotated[StrictStr, text_field(200)]
    bank: Annotated[StrictStr, text_field(200)]
    mode: config.Mode = config.Mode.BRANCHES


class FeeIn(BaseModel):
    model_config = ConfigDict(strict=False, extra="forbid")

    effective_from: Day
    rate_bp: Annotated[StrictStr, text_field(16)] = "0"  # a string keeps the decimals
    minimum: Fen = 0
    maximum: Fen | None = None
    fixed: Fen = 0


def _hub(request: Request) -> Host:
    hub: Host = request.app.state.hub
    return hub


@router.post("/run", responses=ADMIN_PROBLEMS, openapi_extra=json_body(RunIn))
async def run_day(request: Request, actor: SettlementWriter) -> Response:
    """Settle a past business day, then match open payouts against imported bank lines."""
    hub = _hub(request)
    body = parse_body(RunIn, await request.body(), request.headers.get("content-type"))
    hub_account = payouts.PayoutSettings().settlement_account
    async with hub.engine.begin() as conn:
        done = await service.settle_day(conn, hub.clock, body.date, biller=body.biller,
                                        actor=actor)  # fmt: skip
        matched = await payouts.match(conn, hub.clock, hub_account)
        late = await payouts.overdue(conn, hub.clock, body.overdue_days)
    return json_response(
        {
            "settlements": [o.as_json() for o in done],
            "payouts_matched": [_matched(m) for m in matched],
            "payouts_overdue": late,
        }
    )


def _matched(m: payouts.Matched) -> dict[str, Any]:
    return {"reference": m.reference, "status": m.status, "note": m.note}


@router.get("", responses=ADMIN_PROBLEMS)
async def show(
    request: Request,
    actor: OpsReader,
    day: Annotated[Day, day_query("date")],
    biller: Annotated[str | None, text_query(32)] = None,
) -> Response:
    hub = _hub(request)
    async with hub.engine.connect() as conn:
        found = await service.show_day(conn, day, biller=biller)
    return json_response({"date": day.isoformat(), "settlements": found})


@router.get(
    "/{biller}/{day}/file",
    response_class=Response,
    responses={
        200: {"description": "the file", "content": {"text/csv": {}, "application/xml": {}}},
        **ADMIN_PROBLEMS,
    },
)
async def settlement_file(
    request: Request,
    actor: OpsReader,
    biller: CodePath,
    day: Day,
    kind: Annotated[Literal["csv", "xml"], Query(alias="format")] = "csv",
) -> Response:
    """The payee's settlement file: CSV, or camt.054-like XML."""
    hub = _hub(request)
    async with hub.engine.connect() as conn:
        found = await service.one_settlement(conn, day, biller)
    if kind == "csv":
        return Response(files.to_csv(found), media_type="text/csv; charset=utf-8")
    body = files.to_camt054(found, hub.clock.now())
    return Response(body, media_type="application/xml")


@router.put("/accounts/{biller}", responses=ADMIN_PROBLEMS, openapi_extra=json_body(AccountIn))
async def put_account(biller: CodePath, request: Request, actor: SettlementWriter) -> Response:
    hub = _hub(request)
    body = parse_body(AccountIn, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        await config.set_account(conn, hub.clock, biller, account_no=body.account_no,
                                 account_name=body.account_name, bank=body.bank,
                                 mode=body.mode, actor=actor)  # fmt: skip
    return json_response({"biller": biller, **body.model_dump(mode="json")})


@router.put("/fees/{party}/{code}", responses=ADMIN_PROBLEMS, openapi_extra=json_body(FeeIn))
async def put_fee(
    party: CodePath, code: CodePath, request: Request, actor: SettlementWriter
) -> Response:
    """A biller's (the hub's service fee) or a channel's fee rule from a day on."""
    try:
        kind = config.Party(party)
    except ValueError:
        detail = f"fees are for 'biller' or 'channel', not {party!r}"
        raise DomainError(ErrorCode.NOT_FOUND, detail) from None
    hub = _hub(request)
    body = parse_body(FeeIn, await request.body(), request.headers.get("content-type"))
    rule = config.fee_rule(body.effective_from, body.rate_bp, body.minimum, body.maximum,
                           body.fixed)  # fmt: skip
    async with hub.engine.begin() as conn:
        await config.set_fee_rule(conn, hub.clock, kind, code, rule, actor=actor)
    return json_response({"party": kind, "code": code, **body.model_dump(mode="json")})

"""The admin API for late fees (违约金) of a hosted utility's bills. Each request is one
transaction; changes are audited.

- ``GET /admin/v1/billers/{code}/late-fee-rules`` (``ops:read``): its rules, oldest first
- ``POST /admin/v1/billers/{code}/late-fee-rules`` (``config:write``) {effective_from,
  effective_to?, daily_per_mille (a string keeps the decimals), grace_days?, basis?,
  cap_fen?, cap_percent?, customer_class?, reason?}: 201 with the rule; 400 naming both
  rules when it overlaps another
- ``GET /admin/v1/billers/{code}/bills/{bill_no}/late-fee?on=YYYY-MM-DD`` (``ops:read``):
  the computation (today, Asia/Shanghai, without ``on``)
- ``POST /admin/v1/billers/{code}/bills/{bill_no}/late-fee-waivers`` (``config:write``)
  {amount? (fen; none: the whole fee), reason}: 201 with the fee after it
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from utilipay.access.auth import ConfigWriter, OpsReader
from utilipay.billers import service as billers_service
from utilipay.billing import latefee_service as service
from utilipay.billing.latefees import MAX_GRACE_DAYS, DayBasis, LateFeeRule
from utilipay.clock import business_date
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.host import Host
from utilipay.http.inputs import PROSE, Day, Fen, Reason, day_query, text_field, text_path
from utilipay.http.json import json_response, parse_body

router = APIRouter(prefix="/admin/v1/billers", tags=["admin"])
CodePath = Annotated[str, text_path(32)]
BillPath = Annotated[str, text_path(64)]
Decimals = Annotated[StrictStr, text_field(16)]


class LateFeeRuleIn(BaseModel):
    model_config = ConfigDict(strict=False, extra="forbid")

    effective_from: Day
    effective_to: Day | None = None
    daily_per_mille: Decimals
    grace_days: Annotated[StrictInt, Field(ge=0, le=MAX_GRACE_DAYS)] = 0
    basis: DayBasis = DayBasis.CALENDAR
    cap_fen: Fen | None = None
    cap_percent: Decimals | None = None
    customer_class: Annotated[StrictStr, text_field(32)] | None = None
    reason: Annotated[StrictStr, Field(max_length=500, pattern=PROSE)] = ""


class LateFeeWaiverIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    amount: Fen | None = None
    reason: Reason


@router.get("/{code}/late-fee-rules", responses=ADMIN_PROBLEMS)
async def list_rules(code: CodePath, request: Request, _: OpsReader) -> Response:
    hub: Host = request.app.state.hub
    async with hub.engine.connect() as conn:
        biller = await billers_service.hosted_biller(conn, code, service.NEEDS)
        found = await service.rules_of(conn, biller.id)
    return json_response({"biller": code, "rules": [service.rule_json(r) for r in found]})


@router.post("/{code}/late-fee-rules", status_code=201, responses=ADMIN_PROBLEMS,
             openapi_extra=json_body(LateFeeRuleIn))  # fmt: skip
async def add_rule(code: CodePath, request: Request, actor: ConfigWriter) -> Response:
    hub: Host = request.app.state.hub
    body = parse_body(LateFeeRuleIn, await request.body(), request.headers.get("content-type"))
    cap_percent = body.cap_percent
    rule = LateFeeRule(
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        daily_per_mille=service.parse_decimal(body.daily_per_mille, "rate"),
        grace_days=body.grace_days,
        basis=body.basis,
        cap_fen=body.cap_fen,
        cap_percent=None if cap_percent is None else service.parse_decimal(cap_percent, "cap"),
        customer_class=body.customer_class,
    )
    async with hub.engine.begin() as conn:
        stored = await service.add_rule(conn, hub.clock, code, rule, actor=actor,
                                        reason=body.reason)  # fmt: skip
    return json_response(service.rule_json(stored), status_code=201)


@router.get("/{code}/bills/{bill_no}/late-fee", responses=ADMIN_PROBLEMS)
async def show_fee(
    code: CodePath,
    bill_no: BillPath,
    request: Request,
    _: OpsReader,
    on: Annotated[Day | None, day_query("on")] = None,
) -> Response:
    hub: Host = request.app.state.hub
    day = on or business_date(hub.clock.now())
    async with hub.engine.connect() as conn:
        found = await service.bill_fee(conn, code, bill_no, day)
    return json_response(found.as_json())


@router.post("/{code}/bills/{bill_no}/late-fee-waivers", status_code=201,
             responses=ADMIN_PROBLEMS, openapi_extra=json_body(LateFeeWaiverIn))  # fmt: skip
async def waive(
    code: CodePath, bill_no: BillPath, request: Request, actor: ConfigWriter
) -> Response:
    hub: Host = request.app.state.hub
    body = parse_body(LateFeeWaiverIn, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        after = await service.waive(conn, hub.clock, code, bill_no, body.amount, actor=actor,
                                    reason=body.reason)  # fmt: skip
    return json_response(after.as_json(), status_code=201)

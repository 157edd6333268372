"""The admin API for a biller's configuration: its prepaid rules (智能交费).

- ``GET /admin/v1/billers/{code}/prepaid`` (``ops:read``): the rules in force
- ``PUT /admin/v1/billers/{code}/prepaid`` (``config:write``) {reminder?, cut_grace_s?,
  reward_points?, reward_min?, reason?}: the settings given change, the others stay;
  audited with the values before and after.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.responses import Response

from utilipay.access.auth import ConfigWriter, OpsReader
from utilipay.billers import repository
from utilipay.billers import service as billers_service
from utilipay.billers.prepaid import PrepaidSettings, prepaid_json
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.host import Host
from utilipay.http.inputs import PROSE, Fen, text_path
from utilipay.http.json import json_response, parse_body

router = APIRouter(prefix="/admin/v1/billers", tags=["admin"])
# Ranges beyond the column's are the service's, with its messages.
CodePath = Annotated[str, text_path(32)]


class PrepaidIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    reminder: Fen | None = None
    cut_grace_s: Fen | None = None
    reward_points: Fen | None = None
    reward_min: Fen | None = None
    reason: Annotated[StrictStr, Field(max_length=500, pattern=PROSE)] = ""


@router.get("/{code}/prepaid", responses=ADMIN_PROBLEMS)
async def get_prepaid(code: CodePath, request: Request, _: OpsReader) -> Response:
    hub: Host = request.app.state.hub
    async with hub.engine.connect() as conn:
        biller = await repository.by_code(conn, code)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {code}")
    return json_response(prepaid_json(biller))


@router.put("/{code}/prepaid", responses=ADMIN_PROBLEMS, openapi_extra=json_body(PrepaidIn))
async def put_prepaid(code: CodePath, request: Request, actor: ConfigWriter) -> Response:
    hub: Host = request.app.state.hub
    body = parse_body(PrepaidIn, await request.body(), request.headers.get("content-type"))
    settings = PrepaidSettings(body.reminder, body.cut_grace_s, body.reward_points,
                               body.reward_min)  # fmt: skip
    if settings == PrepaidSettings():
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "nothing to change: give reminder, cut_grace_s, reward_points or reward_min",
        )
    async with hub.engine.begin() as conn:
        biller = await billers_service.update_biller(
            conn, hub.clock, code, prepaid=settings, actor=actor, reason=body.reason
        )
    return json_response(prepaid_json(biller))

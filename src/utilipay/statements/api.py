"""``GET /biller/v1/statements/{biller}/{yyyyMMdd}``: the signed statement download (§6).

Headers ``X-Biller``, ``X-Time`` (yyyyMMddHHmmss, Asia/Shanghai) and ``X-Sign``:
upper(hex(HMAC-SHA256(KEY, "{biller}|{yyyyMMdd}|{X-Time}"))), or the SHA1 form
for billers on SHA1. Refused: another biller's statement, a bad signature, a
time more than 300 s off the hub's clock; 409 for a day that has not ended.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from utilipay.api.hub import Hub
from utilipay.api.inputs import text_path
from utilipay.billers.protocol.framing import text_signature_matches
from utilipay.clock import SHANGHAI
from utilipay.errors import DomainError, ErrorCode
from utilipay.statements.service import build

router = APIRouter(prefix="/biller/v1", tags=["statements (for billers)"])
MAX_SKEW_SECONDS = 300


def _refuse(detail: str) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, detail)


@router.get(
    "/statements/{biller}/{day}",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "the statement"}},
)
async def download_statement(
    request: Request, biller: Annotated[str, text_path(32)], day: Annotated[str, text_path(8)]
) -> Response:
    hub: Hub = request.app.state.hub
    x_biller = request.headers.get("x-biller", "")
    x_time = request.headers.get("x-time", "")
    x_sign = request.headers.get("x-sign", "")
    if not re.fullmatch(r"[0-9]{8}", day):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "the date must be yyyyMMdd")
    found = hub.directory.biller(biller)
    if found is None or found.remote is None or x_biller != biller:
        raise _refuse("X-Biller must name the statement's biller, a remote biller of the hub")
    try:
        sent_at = datetime.strptime(x_time, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
        statement_day = datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        raise _refuse("X-Time must be yyyyMMddHHmmss") from None
    signed = f"{biller}|{day}|{x_time}"
    if not text_signature_matches(
        found.remote.sign_type, found.remote.accepted_keys, signed, x_sign
    ):
        raise _refuse("X-Sign does not match")
    now = hub.clock.now()
    if abs((now - sent_at).total_seconds()) > MAX_SKEW_SECONDS:
        raise _refuse(f"X-Time is more than {MAX_SKEW_SECONDS} s away from the hub's clock")
    async with hub.engine.connect() as conn:
        statement = await build(conn, found, statement_day, now)
    return Response(statement.render(), media_type="text/plain; charset=utf-8")

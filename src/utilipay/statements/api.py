"""``GET /biller/v1/statements/{biller}/{yyyyMMdd}``: the signed statement download (§6).

Headers ``X-Biller``, ``X-Time`` (yyyyMMddHHmmss, Asia/Shanghai) and ``X-Sign``:
upper(hex(HMAC-SHA256(KEY, "{biller}|{yyyyMMdd}|{X-Time}"))), or the SHA1 form
for billers on SHA1. Refused: another biller's statement, a bad signature, a
time more than 300 s off the hub's clock; 409 for a day that has not ended.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from utilipay.billers.lookup import BillerHost
from utilipay.billers.protocol.framing import SignType, text_signature_matches
from utilipay.clock import SHANGHAI
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import problems
from utilipay.http.inputs import FIRST_DAY, LAST_DAY, text_path
from utilipay.statements.service import build

router = APIRouter(prefix="/biller/v1", tags=["statements (for billers)"])
MAX_SKEW_SECONDS = 300


# One answer for every request not known to come from the biller it names: a caller learns
# nothing of which biller codes exist, which are remote, or which header was wrong.
NOT_SIGNED = (
    "X-Biller, X-Time and X-Sign are missing, malformed or do not verify for this statement"
)
_NO_KEY = (SignType.HMAC_SHA256, ("no biller has this key",))


def _statement_day(day: str) -> date:
    try:
        found = datetime.strptime(day, "%Y%m%d").date() if re.fullmatch("[0-9]{8}", day) else None
    except ValueError:
        found = None
    if found is None or not FIRST_DAY <= found <= LAST_DAY:
        detail = f"the date must be yyyyMMdd, {FIRST_DAY:%Y%m%d} to {LAST_DAY:%Y%m%d}"
        raise DomainError(ErrorCode.MALFORMED_REQUEST, detail)
    return found


def _sent_at(x_time: str) -> datetime | None:
    try:
        return datetime.strptime(x_time, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


@router.get(
    "/statements/{biller}/{day}",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "the statement"},
        **problems(409),
    },
)
async def download_statement(
    request: Request, biller: Annotated[str, text_path(32)], day: Annotated[str, text_path(8)]
) -> Response:
    hub: BillerHost = request.app.state.hub
    x_biller = request.headers.get("x-biller", "")
    x_time = request.headers.get("x-time", "")
    x_sign = request.headers.get("x-sign", "")
    statement_day = _statement_day(day)
    found = hub.biller(biller)
    remote = found.remote if found is not None else None
    # An unknown biller is checked against a key nobody has, as long as a known one takes.
    sign_type, keys = (remote.sign_type, remote.accepted_keys) if remote else _NO_KEY
    signed = f"{biller}|{day}|{x_time}"
    verified = text_signature_matches(sign_type, keys, signed, x_sign)
    sent_at = _sent_at(x_time)
    if not (verified and found is not None and remote and x_biller == biller and sent_at):
        raise DomainError(ErrorCode.UNAUTHENTICATED, NOT_SIGNED)
    now = hub.clock.now()
    if abs((now - sent_at).total_seconds()) > MAX_SKEW_SECONDS:
        detail = f"X-Time is more than {MAX_SKEW_SECONDS} s away from the hub's clock"
        raise DomainError(ErrorCode.UNAUTHENTICATED, detail)
    async with hub.engine.connect() as conn:
        statement = await build(conn, found, statement_day, now)
    return Response(statement.render(), media_type="text/plain; charset=utf-8")

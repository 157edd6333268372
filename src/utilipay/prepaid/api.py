"""``GET /v1/prepaid``: a prepaid account's balance and daily usage, for a payer who has
bound the account at this channel: its holder, or a landlord watching a tenant's meter."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from utilipay.billers.lookup import BillerHost, active_biller
from utilipay.channels.requests import RequestContext, signed
from utilipay.clock import to_shanghai_iso
from utilipay.common.masking import mask_name
from utilipay.http.docs import PROBLEMS
from utilipay.http.inputs import text_query
from utilipay.http.json import json_response
from utilipay.prepaid import queries

router = APIRouter(prefix="/v1", tags=["prepaid"])
Text = Annotated[str, text_query(128)]


@router.get("/prepaid", responses=PROBLEMS)
async def prepaid_account(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    biller: Annotated[str, text_query(32)],
    account: Text,
    payer: Text,
    days: Annotated[int, Query(ge=1, le=92)] = 31,
) -> Response:
    hub: BillerHost = request.app.state.hub
    found = active_biller(hub.biller(biller), biller)
    async with ctx.transaction() as conn:
        view = await queries.view_for_payer(conn, ctx.channel, payer, found, account, days=days)
    out: dict[str, Any] = {
        "biller": found.code,
        "account": view.account.account_no,
        "holder": mask_name(view.holder),
        "balance": view.account.balance,
        "currency": view.account.currency,
        "state": view.account.state,
        "state_since": to_shanghai_iso(view.account.state_since),
        "reminder": view.account.reminder,
        "settled_through": view.account.accrued_through.isoformat()
        if view.account.accrued_through
        else None,
        "days": [
            {"date": d.day.isoformat(), "usage": str(d.usage), "charge": d.posted,
             "balance": d.balance_after}
            for d in view.days
        ],
    }  # fmt: skip
    return json_response(out)

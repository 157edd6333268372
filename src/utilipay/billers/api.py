from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from utilipay.billers.lookup import BillerHost
from utilipay.billers.schemas import BillerStatus, Category
from utilipay.channels.requests import RequestContext, signed
from utilipay.http.docs import PROBLEMS, BillersOut
from utilipay.http.json import json_response

router = APIRouter(prefix="/v1", tags=["billers"])


@router.get("/billers", response_model=BillersOut, responses=PROBLEMS)
async def list_billers(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    category: Annotated[Category | None, Query()] = None,
) -> Response:
    hub: BillerHost = request.app.state.hub
    await ctx.record_nonce()  # the list comes from the directory: nothing else to read
    billers = sorted(
        (
            b
            for b in hub.billers()
            if b.status is BillerStatus.ACTIVE and (category is None or b.category is category)
        ),
        key=lambda b: b.code,
    )
    return json_response(
        {
            "billers": [
                {
                    "code": b.code,
                    "name": b.name,
                    "category": b.category,
                    "region": b.region,
                    "account_hint": b.rule.hint,
                    "verification": b.verification,
                }
                for b in billers
            ]
        }
    )

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from utilipay.api.context import RequestContext, signed
from utilipay.api.docs import PROBLEMS, BillersOut
from utilipay.api.json import json_response
from utilipay.billers.schemas import BillerStatus, Category

router = APIRouter(prefix="/v1", tags=["billers"])


@router.get("/billers", response_model=BillersOut, responses=PROBLEMS)
async def list_billers(
    ctx: Annotated[RequestContext, Depends(signed)],
    category: Annotated[Category | None, Query()] = None,
) -> Response:
    await ctx.record_nonce()  # the list comes from the directory: nothing else to read
    billers = sorted(
        (
            b
            for b in ctx.hub.directory.billers()
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
                }
                for b in billers
            ]
        }
    )

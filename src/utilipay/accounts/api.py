"""``GET /v1/bills``: what an account owes, from the hub's books or the biller's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from utilipay.accounts.connector import AccountsHost
from utilipay.billers.lookup import active_biller
from utilipay.channels.requests import RequestContext, signed
from utilipay.http.docs import PROBLEMS, BillsOut
from utilipay.http.inputs import text_query
from utilipay.http.json import json_response
from utilipay.money import CNY

router = APIRouter(prefix="/v1", tags=["bills"])


@router.get("/bills", response_model=BillsOut, responses=PROBLEMS)
async def query_bills(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    biller: Annotated[str, text_query(32)],
    account: Annotated[str, text_query(64)],
) -> Response:
    hub: AccountsHost = request.app.state.hub
    found = active_biller(hub.biller(biller), biller)
    found.rule.check(found.code, account)
    await ctx.record_nonce()
    result = await hub.connectors.for_biller(found).query(hub.engine, found, account)
    return json_response(
        {
            "biller": found.code,
            "account": result.account_no,
            "holder": result.holder,
            "bills": [
                {
                    "bill_no": b.bill_no,
                    "period": b.period,
                    "amount": b.amount,
                    "late_fee": b.late_fee,
                    "due_date": b.due_date.isoformat(),
                }
                for b in result.bills
            ],
            "total": result.total,
            "currency": CNY,
        }
    )

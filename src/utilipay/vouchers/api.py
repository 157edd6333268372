"""``POST /v1/vouchers/redeem``: a channel redeems a voucher for an account (§12), signed
and idempotent by ``order_id`` exactly as ``POST /v1/payments``."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request
from starlette.responses import Response

from utilipay.billers.lookup import BillerHost, active_biller
from utilipay.channels.requests import signed
from utilipay.http.docs import PROBLEMS, json_body
from utilipay.http.json import json_response, parse_body
from utilipay.ids import new_id
from utilipay.vouchers import redeem
from utilipay.vouchers.redeem import RedeemCommand, Redemptions
from utilipay.vouchers.schemas import RedeemRequest, RedemptionOut

router = APIRouter(prefix="/v1", tags=["vouchers"])


class VouchersHost(BillerHost, Protocol):
    @property
    def redemptions(self) -> Redemptions: ...


@router.post(
    "/vouchers/redeem",
    response_model=RedemptionOut,
    status_code=201,
    responses={200: {"description": "the same order again: its redemption"}, **PROBLEMS},
    openapi_extra=json_body(RedeemRequest),
)
async def redeem_voucher(request: Request) -> Response:
    hub: VouchersHost = request.app.state.hub
    ctx = await signed(request)
    body = parse_body(RedeemRequest, ctx.body, request.headers.get("content-type"))
    command = RedeemCommand(
        channel=ctx.channel,
        order_id=body.order_id,
        pin=body.pin,
        biller=active_biller(hub.biller(body.biller), body.biller),
        account_no=body.account,
        payer=body.payer,
        nonce=ctx.call.nonce,
    )
    redeem.validate(command)
    ctx.nonce_recorded = True  # from here the redemption's transaction records it
    done = await hub.redemptions.redeem(command, new_id("P"))
    return json_response(done.as_json(), 201 if done.created else 200)

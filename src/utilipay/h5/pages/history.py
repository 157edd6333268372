"""The payer's payments at this channel, newest first, and each one's e-receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of
from utilipay.h5.templating import headers, render
from utilipay.h5.visits import Visitor
from utilipay.payments import repository as payments_repo
from utilipay.receipts import service as receipts
from utilipay.receipts.layout import render_text
from utilipay.receipts.pdf import render_pdf

router = APIRouter()
PAGE = 20


@router.get("/payments")
async def payments_page(
    request: Request, payer: Visitor, before: Annotated[datetime | None, Query()] = None
) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        found = await payments_repo.payer_payments(
            conn, payer.channel.id, payer.payer, PAGE + 1, before
        )
    more = found[PAGE - 1].created_at if len(found) > PAGE else None
    return render(
        request, "payments.html", payments=found[:PAGE], more=more, biller_code=hub.biller_code
    )


@router.get("/payments/{payment_id}/receipt")
async def receipt(
    request: Request,
    payment_id: str,
    payer: Visitor,
    receipt_format: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        payment = await payments_repo.by_id(conn, payment_id[:64])
        if payment is None or payment.payer != payer.payer:
            raise DomainError(ErrorCode.NOT_FOUND, "no such payment")
        paid = await receipts.payment_with_receipt(conn, payment.id, payer.channel.id)
        made = await receipts.build(conn, paid, hub.clock.now())
    if receipt_format == "pdf":
        return Response(render_pdf(made), media_type="application/pdf", headers=headers(None))
    return render(request, "receipt.html", payment=paid, text=render_text(made))

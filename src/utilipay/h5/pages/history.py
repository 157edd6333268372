"""The payer's payments at this channel, newest first, and each one's e-receipt: the same
history, pages and cursor as ``GET /v1/payments?payer=`` (``payments.history``, §13)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from utilipay.clock import business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.pages.accounts import hub_of
from utilipay.h5.templating import headers, render
from utilipay.h5.visits import Visitor
from utilipay.payments import repository as payments_repo
from utilipay.payments.history import payer_history, span_of
from utilipay.receipts import service as receipts
from utilipay.receipts.layout import render_text
from utilipay.receipts.pdf import render_pdf

router = APIRouter()


@router.get("/payments")
async def payments_page(
    request: Request,
    payer: Visitor,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> Response:
    """The last year's payments (the API's default span), a page at a time."""
    hub = hub_of(request)
    span = span_of(None, None, business_date(hub.clock.now()))
    async with hub.engine.connect() as conn:
        page = await payer_history(
            conn, payer.channel.id, hub.biller_code, payer.payer, span, cursor
        )
    return render(request, "payments.html", payments=page.payments, more=page.next_cursor)


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

"""``GET /v1/payments/{id}/receipt?format=text|pdf`` (channel-api.md §11): the printable
receipt of a channel's own payment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from utilipay.channels.requests import RequestContext, signed
from utilipay.http.docs import PROBLEMS
from utilipay.http.host import Host
from utilipay.http.inputs import text_path
from utilipay.receipts import service
from utilipay.receipts.layout import render_text
from utilipay.receipts.pdf import render_pdf
from utilipay.receipts.schemas import Receipt

router = APIRouter(prefix="/v1", tags=["payments"])

# Who may ask for a receipt: the one place it is decided. Today a channel signing as in §3,
# exactly as for GET /v1/payments/{id}; a terminal's signing (§11) joins here.
Caller = Annotated[RequestContext, Depends(signed)]

ReceiptFormat = Literal["text", "pdf"]
MEDIA_TYPES: dict[ReceiptFormat, str] = {
    "text": "text/plain; charset=utf-8",
    "pdf": "application/pdf",
}


def rendered(receipt: Receipt, receipt_format: ReceiptFormat) -> bytes:
    return render_pdf(receipt) if receipt_format == "pdf" else render_text(receipt).encode()


@router.get(
    "/payments/{payment_id}/receipt",
    response_class=Response,
    responses={
        200: {
            "description": "the receipt (缴费凭证): 32 columns for 58 mm printers, or PDF",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        },
        **PROBLEMS,
    },
)
async def get_receipt(
    request: Request,
    payment_id: Annotated[str, text_path(64)],
    ctx: Caller,
    receipt_format: Annotated[ReceiptFormat, Query(alias="format")] = "text",
) -> Response:
    hub: Host = request.app.state.hub
    async with ctx.transaction() as conn:
        payment = await service.payment_with_receipt(conn, payment_id, ctx.channel.id)
        receipt = await service.build(conn, payment, hub.clock.now())
    return Response(rendered(receipt, receipt_format), media_type=MEDIA_TYPES[receipt_format])

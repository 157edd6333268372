from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from utilipay.billers.lookup import active_biller
from utilipay.channels.requests import ChannelHost, RequestContext, signed
from utilipay.clock import business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import PROBLEMS, PaymentOut, PaymentsPageOut, json_body
from utilipay.http.inputs import Day, day_query, text_path, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.outlets.auth import Terminal, terminal_of
from utilipay.outlets.terminals import TerminalPayment, terminal_payment
from utilipay.payments import history, service
from utilipay.payments.rules import check_bill_nos
from utilipay.payments.schemas import PaymentCommand, PaymentRequest, TerminalPaymentRequest
from utilipay.payments.service import PaymentsHost
from utilipay.payments.views import payment_out, terminal_payment_out

router = APIRouter(prefix="/v1", tags=["payments"])


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=201,
    responses={200: {"description": "the same order again: the payment it made"}, **PROBLEMS},
    openapi_extra=json_body(PaymentRequest),
)
async def create_payment(request: Request) -> Response:
    hub: TerminalsHost = request.app.state.hub
    # The hot path: no dependency injection, the body is parsed once by pydantic-core.
    ctx = await signed(request)
    terminal = terminal_of(ctx.call)
    content_type = request.headers.get("content-type")
    taken_by = None
    if terminal is None:
        body = parse_body(PaymentRequest, ctx.body, content_type)
    else:  # a terminal's (channel-api.md §11): from its outlet's float
        body = parse_body(TerminalPaymentRequest, ctx.body, content_type)
        taken_by = await _taken_by(hub, terminal, body)
    command = PaymentCommand(
        channel=ctx.channel,
        nonce=ctx.call.nonce,
        biller=active_biller(hub.biller(body.biller), body.biller),
        order_id=body.order_id,
        account_no=body.account,
        amount=body.amount,
        bill_nos=check_bill_nos(body.bill_nos),
        payer=body.payer,
        terminal=taken_by,
    )
    path = service.validate(hub.write_off_paths, command)
    # From here the payment's own transaction records the nonce, whatever its outcome.
    ctx.nonce_recorded = True
    result = await path.pay(command, hub.biller_code)
    out = payment_out(result.payment)
    if terminal is not None and taken_by is not None:
        out.update(terminal_payment_out(terminal, taken_by))
    return json_response(out, 201 if result.created else 200)


class TerminalsHost(PaymentsHost, ChannelHost, Protocol):
    pass


async def _taken_by(
    hub: TerminalsHost, terminal: Terminal, body: TerminalPaymentRequest
) -> TerminalPayment:
    """The terminal's part of the payment; an operator added a moment ago may not have
    reached this process yet (reloaded at most once a second, as channels are)."""

    def checked(at: Terminal) -> TerminalPayment:
        return terminal_payment(at, body.operator, body.tender, body.collected_at, hub.clock.now())

    try:
        return checked(terminal)
    except DomainError as refused:
        if refused.code is not ErrorCode.FORBIDDEN or not await hub.reload_if_stale():
            raise
    reloaded = hub.terminal(terminal.id)
    if not isinstance(reloaded, Terminal) or not reloaded.may_sign:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "the terminal was revoked meanwhile")
    return checked(reloaded)


@router.get("/payments/{payment_id}", response_model=PaymentOut, responses=PROBLEMS)
async def get_payment(
    request: Request,
    payment_id: Annotated[str, text_path(64)],
    ctx: Annotated[RequestContext, Depends(signed)],
) -> Response:
    hub: PaymentsHost = request.app.state.hub
    async with ctx.transaction() as conn:
        payment = await service.find(conn, ctx.channel.id, hub.biller_code, payment_id=payment_id)
    return json_response(payment_out(payment))


@router.get("/payments", response_model=PaymentOut | PaymentsPageOut, responses=PROBLEMS)
async def find_payments(
    request: Request,
    ctx: Annotated[RequestContext, Depends(signed)],
    order_id: Annotated[str | None, text_query(64)] = None,
    payer: Annotated[str | None, text_query(128)] = None,
    first: Annotated[Day | None, day_query("from")] = None,
    last: Annotated[Day | None, day_query("to")] = None,
    cursor: Annotated[str | None, text_query(512)] = None,
) -> Response:
    """One payment by the channel's ``order_id`` (§4), or a page of the payer's history
    (§13): ``payer``, optionally ``from``/``to`` (business dates, both included; default
    the 366 days up to today) and the ``cursor`` a previous page gave."""
    hub: PaymentsHost = request.app.state.hub
    if payer is None:
        _only_with_payer(order_id, {"from": first, "to": last, "cursor": cursor})
    elif order_id is not None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "give order_id or payer, not both")
    span = history.span_of(first, last, business_date(hub.clock.now()))
    async with ctx.transaction() as conn:
        if payer is None:
            found = await service.find(conn, ctx.channel.id, hub.biller_code, order_id=order_id)
            return json_response(payment_out(found))
        page = await history.payer_history(
            conn, ctx.channel.id, hub.biller_code, payer, span, cursor
        )
    shown = [payment_out(p) for p in page.payments]
    return json_response({"payments": shown, "next_cursor": page.next_cursor})


def _only_with_payer(order_id: str | None, history_params: dict[str, object]) -> None:
    if order_id is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "give order_id (one payment) or payer")
    if given := [name for name, value in history_params.items() if value is not None]:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"{', '.join(given)} go with payer, not with order_id"
        )

"""Paying: the pages never take money. "Pay" fixes what is due in an order and sends the
payer to the channel's cashier with the order's id, amount and a way back; the channel
takes the money and calls ``POST /v1/payments`` with that id as its ``order_id``. The
order's page then shows the payment as it stands, waiting honestly while it is PROCESSING."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import words
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5 import store
from utilipay.h5.cashier import cashier_link
from utilipay.h5.pages.accounts import bills_of, hub_of, payers_binding
from utilipay.h5.store import Order
from utilipay.h5.templating import headers, render
from utilipay.h5.visits import Payer, Refused, Visitor
from utilipay.ids import new_id
from utilipay.payments import repository as payments_repo
from utilipay.payments.schemas import PaymentStatus, StoredPayment

router = APIRouter()
_FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.VOIDED})


@router.post("/accounts/{binding_id}/pay")
async def pay(request: Request, binding_id: str, payer: Visitor) -> Response:
    if payer.channel.cashier_url is None:
        raise Refused(409, words("Paying from these pages is not set up for this app yet."))
    binding = await payers_binding(request, payer, binding_id)
    due = await bills_of(request, binding)
    if not due.bills:
        raise DomainError(ErrorCode.NO_BILL_DUE, words("Nothing is due on this account."))
    hub = hub_of(request)
    order = Order(
        id=new_id("H5"), channel_code=payer.channel.code, payer=payer.payer,
        binding_id=binding.id, biller_code=binding.biller, account_no=binding.account_no,
        bill_nos=tuple(b.bill_no for b in due.bills), amount=due.total,
        created_at=hub.clock.now(),
    )  # fmt: skip
    async with hub.engine.begin() as conn:
        await store.add_order(conn, order)
    back = str(request.url_for("order_page", order_id=order.id))
    target = cashier_link(payer.channel, order, back, int(order.created_at.timestamp()))
    return RedirectResponse(target, status_code=303, headers=headers(None))


async def _order_and_payment(
    request: Request, payer: Payer, order_id: str
) -> tuple[Order, StoredPayment | None]:
    hub = hub_of(request)
    async with hub.engine.connect() as conn:
        order = await store.payers_order(conn, payer.channel.code, payer.payer, order_id[:64])
        if order is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such order")
        payment = await payments_repo.by_order(conn, payer.channel.id, order.id)
    return order, payment


def _status(
    request: Request, template: str, order: Order, payment: StoredPayment | None
) -> Response:
    polling = payment is None or payment.status not in _FINAL
    return render(request, template, order=order, payment=payment, polling=polling,
                  differs=payment is not None and not _as_ordered(order, payment))  # fmt: skip


def _as_ordered(order: Order, payment: StoredPayment) -> bool:
    """Whether the channel paid what the order fixed. The channel's payment is what it is
    (the utility judged it), but the page must not call a different payment this order's."""
    return (payment.amount, payment.account_no, sorted(payment.bill_nos)) == (
        order.amount, order.account_no, sorted(order.bill_nos),
    )  # fmt: skip


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: str, payer: Visitor) -> Response:
    order, payment = await _order_and_payment(request, payer, order_id)
    return _status(request, "order.html", order, payment)


@router.get("/orders/{order_id}/status")
async def order_status(request: Request, order_id: str, payer: Visitor) -> Response:
    """The part of the order's page htmx polls every 2 s until the payment is final."""
    order, payment = await _order_and_payment(request, payer, order_id)
    return _status(request, "_order_status.html", order, payment)

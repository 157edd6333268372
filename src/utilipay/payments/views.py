"""The payment object as channels see it (channel-api.md §4), in responses and webhooks."""

from __future__ import annotations

from utilipay.clock import to_shanghai_iso
from utilipay.outlets.auth import Terminal
from utilipay.outlets.terminals import TerminalPayment
from utilipay.payments.schemas import Payment


def payment_out(p: Payment) -> dict[str, object]:
    out: dict[str, object] = {
        "id": p.id,
        "order_id": p.order_id,
        "status": p.status,
        "biller": p.biller,
        "account": p.account_no,
        "amount": p.amount,
        "currency": p.currency,
        "bill_nos": list(p.bill_nos),
        "receipt_no": p.receipt_no,
        "biller_serial": p.biller_serial,
        "created_at": to_shanghai_iso(p.created_at),
        "finished_at": to_shanghai_iso(p.finished_at) if p.finished_at else None,
    }
    if p.purpose != "bills":  # a field later than v1; a client ignores what it does not know
        out["purpose"] = p.purpose
    if p.failure_code is not None:
        out["failure_code"] = p.failure_code
    return out


def terminal_payment_out(terminal: Terminal, taken: TerminalPayment) -> dict[str, object]:
    """A terminal's payment adds where it was taken and, for a collector's payment sent
    after coming back into coverage (store and forward), when the money was collected:
    ``forwarded`` tells the collector which case applied (docs/channel-api.md)."""
    out: dict[str, object] = {
        "outlet": terminal.outlet_code,
        "terminal": terminal.id,
        "operator": taken.operator,
        "tender": taken.tender.value,
        "forwarded": taken.collected_at is not None,
    }
    if taken.collected_at is not None:
        out["collected_at"] = to_shanghai_iso(taken.collected_at)
    return out

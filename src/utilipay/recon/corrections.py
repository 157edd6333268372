"""Corrections of a run's breaks: proposed with their evidence, applied once, audited.

A run proposes one correction per break that calls for one (classify.py). Applying
takes each proposal's row lock (SKIP LOCKED: two people applying at once share
the work) and marks it APPLIED with who, when, why and what happened, so
applying again does nothing; the idempotency key (run, channel, order, action)
is unique. What a correction does is idempotent too: one refund per channel
order (any run), one open exception per payment, the protocol's calls keyed by
our payment id. A correction whose utility did not answer stays PROPOSED, to be
applied again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import repository as billers_repo
from utilipay.billers.calls import log_call
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import (
    ChargeAnswer,
    ConfirmAnswer,
    ConfirmRequest,
    OrderStatus,
    RefundAnswer,
    RefundRequest,
)
from utilipay.billers.remote import Answer, BillerUnreachable, RemoteBillers
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.outbox.service import Event, emit
from utilipay.payments.resolution import call, charge_request
from utilipay.recon.classify import Action

_PROPOSE = text(
    """
    INSERT INTO recon_corrections (run_id, item_no, action, idempotency_key, class, biller_id,
                                   payment_id, channel_code, order_id, evidence)
    SELECT run_id, item_no, action,
           concat_ws(':', run_id, coalesce(channel_code, biller_id::text),
                     coalesce(order_id, payment_id), action),
           class, biller_id, payment_id, channel_code, coalesce(order_id, payment_id),
           jsonb_strip_nulls(jsonb_build_object(
               'hub', CASE WHEN hub_status IS NOT NULL THEN jsonb_build_object(
                   'payment_id', payment_id, 'status', hub_status, 'amount', hub_amount,
                   'at', hub_at) END,
               'channel', CASE WHEN channel_line IS NOT NULL THEN jsonb_build_object(
                   'channel', channel_code, 'order_id', order_id, 'net_lines', channel_lines,
                   'amount', channel_amount, 'at', channel_at, 'line', channel_line) END,
               'utility', CASE WHEN utility_line IS NOT NULL THEN jsonb_build_object(
                   'payment_id', payment_id, 'status', utility_status,
                   'net_lines', utility_lines, 'amount', utility_amount, 'at', utility_at,
                   'line', utility_line) END))
      FROM recon_items
     WHERE run_id = :run AND action IS NOT NULL
    """
)
_PROPOSED = text(
    """
    SELECT c.*, r.business_date, i.hub_status, i.hub_amount, i.channel_amount,
           i.utility_amount, i.utility_status
      FROM recon_corrections c
      JOIN recon_runs r ON r.id = c.run_id
      JOIN recon_items i ON i.run_id = c.run_id AND i.item_no = c.item_no
     WHERE c.run_id = :run AND c.status = 'PROPOSED'
       AND (CAST(:only AS text) IS NULL OR c.class = :only OR c.action = :only)
     ORDER BY c.item_no
    """
)
_LOCK = text(
    "SELECT 1 FROM recon_corrections WHERE run_id = :run AND item_no = :item"
    " AND status = 'PROPOSED' FOR UPDATE SKIP LOCKED"
)
_DONE = text(
    """
    UPDATE recon_corrections
       SET status = 'APPLIED', outcome = :outcome, applied_at = :now, applied_by = :actor,
           reason = :reason
     WHERE run_id = :run AND item_no = :item
    """
)
_PAYMENT = text("SELECT * FROM payments WHERE biller_id = :b AND id = :p FOR UPDATE")
_REFUND = text(
    """
    INSERT INTO refunds (biller_id, id, payment_id, channel_id, order_id, amount, reason,
                         status, created_at, business_date)
    SELECT :biller_id, :id, :payment_id, c.id, :order_id, :amount, :reason, 'OPEN', :now, :day
      FROM channels c WHERE c.code = :channel
    ON CONFLICT (biller_id, channel_id, order_id) DO NOTHING
    RETURNING id
    """
)
_EXCEPTION = text(
    "INSERT INTO payment_exceptions (biller_id, payment_id, reason, opened_at)"
    " VALUES (:b, :p, :r, :now) ON CONFLICT DO NOTHING RETURNING id"
)

WHAT = {
    Action.RECONFIRM: "ask the utility (confirm) and write the payment off again if it never was",
    Action.REVERSE: "reverse the write-off at the utility (冲正): the channel never paid for it",
    Action.REFUND: "open a refund to the channel (refund.opened): the payment failed",
    Action.EXCEPTION: "leave it for a person (the exceptions queue)",
}


@dataclass(frozen=True, slots=True)
class Applied:
    item_no: int
    action: str
    key: str
    order_id: str
    evidence: dict[str, Any]
    outcome: str
    applied: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item_no, "action": self.action, "key": self.key,
            "order_id": self.order_id, "evidence": self.evidence, "outcome": self.outcome,
            "applied": self.applied,
        }  # fmt: skip


@dataclass
class Context:
    conn: AsyncConnection
    clock: Clock
    billers: RemoteBillers
    reason: str
    row: Any = None


Handler = Callable[[Context], Awaitable[tuple[bool, str]]]


async def propose(conn: AsyncConnection, run_id: int) -> int:
    return (await conn.execute(_PROPOSE, {"run": run_id})).rowcount


async def apply(
    conn: AsyncConnection,
    clock: Clock,
    run_id: int,
    billers: RemoteBillers,
    *,
    actor: str,
    reason: str,
    only: str | None = None,
    dry_run: bool = False,
) -> list[Applied]:
    """Apply the run's proposed corrections (or, dry, say what each would do)."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say why: a reason is required")
    exists = text("SELECT 1 FROM recon_runs WHERE id = :r")
    if not (await conn.execute(exists, {"r": run_id})).first():
        raise DomainError(ErrorCode.NOT_FOUND, f"no reconciliation run {run_id}")
    rows = (await conn.execute(_PROPOSED, {"run": run_id, "only": only})).all()
    context = Context(conn, clock, billers, reason)
    done = []
    for row in rows:
        if dry_run:
            done.append(_applied(row, f"would {WHAT[Action(row.action)]}", applied=False))
            continue
        if (await conn.execute(_LOCK, {"run": run_id, "item": row.item_no})).first() is None:
            continue  # applied by someone else meanwhile
        context.row = row
        applied, outcome = await HANDLERS[Action(row.action)](context)
        if applied:
            await _record(context, actor, outcome)
        done.append(_applied(row, outcome, applied=applied))
    return done


def _applied(row: Any, outcome: str, *, applied: bool) -> Applied:
    return Applied(
        row.item_no, row.action, row.idempotency_key, row.order_id, row.evidence, outcome, applied
    )


async def _record(context: Context, actor: str, outcome: str) -> None:
    row = context.row
    now = context.clock.now()
    await context.conn.execute(
        _DONE,
        {"outcome": outcome, "now": now, "actor": actor, "reason": context.reason,
         "run": row.run_id, "item": row.item_no},
    )  # fmt: skip
    await audit.record(
        context.conn, context.clock, actor=actor, action=f"recon.{row.action.lower()}",
        object_type="payment" if row.payment_id else "order",
        object_id=row.payment_id or row.order_id, reason=context.reason,
        details={"run": row.run_id, "item": row.item_no, "key": row.idempotency_key,
                 "class": row._mapping["class"], "outcome": outcome,
                 "evidence": row.evidence},
    )  # fmt: skip


async def _payment(context: Context) -> Any:
    row = context.row
    return (await context.conn.execute(_PAYMENT, {"b": row.biller_id, "p": row.payment_id})).first()


async def _remote(context: Context) -> Any:
    code = (
        await context.conn.execute(
            text("SELECT code FROM billers WHERE id = :b"), {"b": context.row.biller_id}
        )
    ).scalar()
    biller = await billers_repo.by_code(context.conn, code) if code else None
    if biller is None or biller.remote is None:
        return None
    return context.billers.get(biller)


async def _ask(context: Context, request: Any) -> Answer | BillerUnreachable | None:
    remote = await _remote(context)
    if remote is None:
        return None
    result = await call(remote, request)
    await log_call(context.conn, context.row.biller_id, result.record, context.row.payment_id)
    return result


async def _reconfirm(context: Context) -> tuple[bool, str]:
    payment = await _payment(context)
    if payment is None:
        return True, "no such payment at the hub: nothing to confirm"
    if payment.status == "PROCESSING":
        # the resolver's own schedule, brought forward: it confirms and re-charges
        await context.conn.execute(
            text(
                "UPDATE payments SET next_check_at = :now WHERE biller_id = :b AND id = :p"
                " AND status = 'PROCESSING' AND resolution <> 'EXCEPTION'"
            ),
            {"now": context.clock.now(), "b": payment.biller_id, "p": payment.id},
        )
        return True, "pending payment due for resolution now (confirm, charge again if lost)"
    if payment.status != "SUCCEEDED":
        return True, f"payment is {payment.status}: nothing to confirm"
    return await _confirm_written_off(context, payment)


async def _confirm_written_off(context: Context, payment: Any) -> tuple[bool, str]:
    """The hub wrote it off, the utility's statement lacks it: ask, and charge again if lost."""
    confirmed = await _ask(context, ConfirmRequest(payment.id))
    if not isinstance(confirmed, Answer):
        return False, _unanswered(confirmed)
    answer = confirmed.message.body
    if isinstance(answer, ConfirmAnswer) and answer.status is OrderStatus.SUCCESS:
        return True, f"the utility has the write-off (serial {answer.billerserial})"
    if not (isinstance(answer, ConfirmAnswer) and answer.status is OrderStatus.NOTFOUND):
        return False, f"confirm answered {_said(confirmed)}: left proposed"
    channel = context.row.channel_code or ""
    charged = await _ask(context, charge_request(payment, channel))
    if not isinstance(charged, Answer):
        return False, f"write-off missing at the utility; charge {_unanswered(charged)}"
    body = charged.message.body
    if charged.message.head.code in {Code.OK, Code.DUPLICATE_ORDER}:
        serial = body.billerserial if isinstance(body, ChargeAnswer) else "?"
        return True, f"write-off missing at the utility: sent again, serial {serial}"
    return False, f"write-off missing at the utility; charge answered {_said(charged)}"


async def _reverse(context: Context) -> tuple[bool, str]:
    row = context.row
    refund = RefundRequest(row.payment_id, row.utility_amount, "never paid by the channel")
    result = await _ask(context, refund)
    if result is None:
        return True, "not a remote biller: nothing to reverse over the protocol"
    if not isinstance(result, Answer):
        return False, _unanswered(result)
    answer = result.message.body
    if result.message.head.code is Code.OK and isinstance(answer, RefundAnswer):
        if answer.status is OrderStatus.REVERSED:
            return True, f"reversed at the utility (serial {answer.billerserial})"
        return True, "the utility has no such write-off (NOTFOUND): nothing to reverse"
    return False, f"refund answered {_said(result)}: left proposed"


async def _refund(context: Context) -> tuple[bool, str]:
    row = context.row
    now = context.clock.now()
    refund_id = new_id("F")
    values = {
        "biller_id": row.biller_id, "id": refund_id, "payment_id": row.payment_id,
        "order_id": row.order_id, "amount": row.channel_amount, "reason": context.reason,
        "now": now, "day": row.business_date, "channel": row.channel_code,
    }  # fmt: skip
    opened = (await context.conn.execute(_REFUND, values)).first()
    if opened is None:
        return True, "a refund of this order is already open"
    payload = {
        "refund_id": refund_id, "channel": row.channel_code, "order_id": row.order_id,
        "payment_id": row.payment_id, "amount": row.channel_amount,
        "business_date": row.business_date.isoformat(), "reason": context.reason,
    }  # fmt: skip
    await emit(context.conn, [Event(row.biller_id, "refund.opened", refund_id, payload, now)])
    return True, f"refund {refund_id} opened ({row.channel_amount} fen)"


async def _exception(context: Context) -> tuple[bool, str]:
    row = context.row
    if row.hub_status is None:
        return True, "left for a person: the hub has no payment for this order"
    why = f"reconciliation run {row.run_id}: {row._mapping['class']}; {context.reason}"
    opened = (
        await context.conn.execute(
            _EXCEPTION,
            {"b": row.biller_id, "p": row.payment_id, "r": why[:500], "now": context.clock.now()},
        )
    ).first()
    if opened is None:
        return True, "already in the exceptions queue"
    return True, f"exception {opened.id} opened for a person"


def _unanswered(result: BillerUnreachable | None) -> str:
    if result is None:
        return "not a remote biller: the utility cannot be asked"
    return f"utility unreachable ({result.reason}): left proposed"


def _said(result: Answer) -> str:
    head = result.message.head
    return f"{head.code} {head.msg}".strip()


HANDLERS: dict[Action, Handler] = {
    Action.RECONFIRM: _reconfirm,
    Action.REVERSE: _reverse,
    Action.REFUND: _refund,
    Action.EXCEPTION: _exception,
}

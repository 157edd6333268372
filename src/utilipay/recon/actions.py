"""What each correction does (``corrections.py`` decides when, and records it).

A handler runs in the short transaction that claimed the correction, and answers with
a ``Plan``: what it did at once — a refund opened, a break put in the exceptions queue,
a pending payment brought forward to its resolver — or the utility's part, to be asked
outside any transaction (``ask``). What is sent to a utility is keyed by our payment
id (the protocol's ``orderno``), so sending it again after a crash is safe: a charge
the utility already has answers with its serial, a refund it already did answers
REVERSED again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billers.protocol.codes import Code
from utilipay.billers.protocol.messages import (
    ChargeAnswer,
    ConfirmAnswer,
    ConfirmRequest,
    OrderStatus,
    RefundAnswer,
    RefundRequest,
)
from utilipay.billers.remote import (
    Answer,
    BillerUnreachable,
    CallRecord,
    RemoteBiller,
    RemoteBillers,
)
from utilipay.clock import Clock
from utilipay.ids import new_id
from utilipay.outbox.service import Event, emit
from utilipay.payments import repository as payments_repo
from utilipay.payments.exceptions import Break, Kind, queue_break, queued_for
from utilipay.payments.resolution import call, charge_request
from utilipay.payments.schemas import PaymentStatus, StoredPayment
from utilipay.recon.classify import Action

WHAT = {
    Action.RECONFIRM: "ask the utility (confirm) and write the payment off again if it never was",
    Action.REVERSE: "reverse the write-off at the utility (冲正): the channel never paid for it",
    Action.REFUND: "open a refund to the channel (refund.opened): the payment failed",
    Action.EXCEPTION: "leave it for a person (the exceptions queue)",
}


@dataclass
class Calls:
    """The utility, asked outside any transaction; each call kept for ``biller_calls``."""

    remote: RemoteBiller
    records: list[CallRecord] = field(default_factory=list)

    async def __call__(self, request: Any) -> Answer | BillerUnreachable:
        result = await call(self.remote, request)
        self.records.append(result.record)
        return result


Ask = Callable[[Calls], Awaitable[tuple[bool, str]]]


@dataclass(frozen=True, slots=True)
class Plan:
    """Done at once (``outcome``; ``applied`` False leaves it proposed), or ``ask``."""

    outcome: str = ""
    applied: bool = True
    remote: RemoteBiller | None = None
    ask: Ask | None = None


@dataclass
class Context:
    conn: AsyncConnection
    clock: Clock
    billers: RemoteBillers
    reason: str
    row: Any


_REFUND = text(
    """
    INSERT INTO refunds (biller_id, id, payment_id, channel_id, order_id, amount, reason,
                         status, created_at, business_date)
    SELECT :biller_id, :id, :payment_id, c.id, :order_id, :amount, :reason, 'OPEN', :now, :day
      FROM channels_directory c WHERE c.code = :channel
    ON CONFLICT (biller_id, channel_id, order_id) DO NOTHING
    RETURNING id
    """
)
# The break, for a person: its evidence with the channel's statement line spelt out.
_BREAK = text(
    """
    SELECT c.class AS kind, c.biller_id, c.payment_id, c.channel_code, c.order_id, c.run_id,
           c.item_no,
           CASE WHEN line.statement IS NULL THEN c.evidence
                ELSE jsonb_set(c.evidence, '{channel,statement}', line.statement) END AS evidence
      FROM recon_corrections c
      LEFT JOIN LATERAL (
          SELECT jsonb_build_object('file', si.file_name, 'line', sl.line_no,
                                    'reference', sl.party_ref, 'account', sl.account_no,
                                    'amount', sl.amount, 'status', sl.status,
                                    'at', sl.occurred_at) AS statement
            FROM statement_lines sl JOIN statement_imports si ON si.id = sl.import_id
           WHERE sl.import_id = split_part(c.evidence #>> '{channel,line}', ':', 1)::bigint
             AND sl.line_no = split_part(c.evidence #>> '{channel,line}', ':', 2)::integer
      ) line ON c.evidence #>> '{channel,line}' IS NOT NULL
     WHERE c.run_id = :run AND c.item_no = :item
    """
).columns(evidence=JSONB)


async def reconfirm(ctx: Context) -> Plan:
    row = ctx.row
    payment = await payments_repo.by_id(ctx.conn, row.payment_id) if row.payment_id else None
    if payment is None:
        return Plan("no such payment at the hub: nothing to confirm")
    if payment.status is PaymentStatus.PROCESSING:
        # the resolver's own schedule, brought forward: it confirms and re-charges
        await payments_repo.resolve_now(ctx.conn, payment.biller_id, payment.id, ctx.clock.now())
        return Plan("pending payment due for resolution now (confirm, charge again if lost)")
    if payment.status is not PaymentStatus.SUCCEEDED:
        return Plan(f"payment is {payment.status}: nothing to confirm")
    remote = await _remote(ctx)
    if remote is None:
        return Plan("not a remote biller: the utility cannot be asked", applied=False)
    ask = partial(_confirm_written_off, payment, row.channel_code or "")
    return Plan(remote=remote, ask=ask)


async def _confirm_written_off(
    payment: StoredPayment, channel: str, calls: Calls
) -> tuple[bool, str]:
    """The hub wrote it off, the utility's statement lacks it: ask, and charge again if lost."""
    confirmed = await calls(ConfirmRequest(payment.id))
    if isinstance(confirmed, BillerUnreachable):
        return False, _unanswered(confirmed)
    answer = confirmed.message.body
    if isinstance(answer, ConfirmAnswer) and answer.status is OrderStatus.SUCCESS:
        return True, f"the utility has the write-off (serial {answer.billerserial})"
    if not (isinstance(answer, ConfirmAnswer) and answer.status is OrderStatus.NOTFOUND):
        return False, f"confirm answered {_said(confirmed)}: left proposed"
    charged = await calls(charge_request(payment, channel))
    if isinstance(charged, BillerUnreachable):
        return False, f"write-off missing at the utility; charge {_unanswered(charged)}"
    body = charged.message.body
    if charged.message.head.code in {Code.OK, Code.DUPLICATE_ORDER}:
        serial = body.billerserial if isinstance(body, ChargeAnswer) else "?"
        return True, f"write-off missing at the utility: sent again, serial {serial}"
    return False, f"write-off missing at the utility; charge answered {_said(charged)}"


async def reverse(ctx: Context) -> Plan:
    remote = await _remote(ctx)
    if remote is None:
        return Plan("not a remote biller: nothing to reverse over the protocol")
    row = ctx.row
    request = RefundRequest(row.payment_id, row.utility_amount, "never paid by the channel")
    return Plan(remote=remote, ask=partial(_reverse_at_utility, request))


async def _reverse_at_utility(request: RefundRequest, calls: Calls) -> tuple[bool, str]:
    result = await calls(request)
    if isinstance(result, BillerUnreachable):
        return False, _unanswered(result)
    answer = result.message.body
    if result.message.head.code is Code.OK and isinstance(answer, RefundAnswer):
        if answer.status is OrderStatus.REVERSED:
            return True, f"reversed at the utility (serial {answer.billerserial})"
        return True, "the utility has no such write-off (NOTFOUND): nothing to reverse"
    return False, f"refund answered {_said(result)}: left proposed"


async def refund(ctx: Context) -> Plan:
    row = ctx.row
    now = ctx.clock.now()
    refund_id = new_id("F")
    values = {
        "biller_id": row.biller_id, "id": refund_id, "payment_id": row.payment_id,
        "order_id": row.order_id, "amount": row.channel_amount, "reason": ctx.reason,
        "now": now, "day": row.business_date, "channel": row.channel_code,
    }  # fmt: skip
    if (await ctx.conn.execute(_REFUND, values)).first() is None:
        return Plan("a refund of this order is already open")
    payload = {
        "refund_id": refund_id, "channel": row.channel_code, "order_id": row.order_id,
        "payment_id": row.payment_id, "amount": row.channel_amount,
        "business_date": row.business_date.isoformat(), "reason": ctx.reason,
    }  # fmt: skip
    await emit(ctx.conn, [Event(row.biller_id, "refund.opened", refund_id, payload, now)])
    return Plan(f"refund {refund_id} opened ({row.channel_amount} fen)")


async def leave_for_a_person(ctx: Context) -> Plan:
    """Into the exceptions queue, once: not again while it is open, nor once a person has
    resolved the same break (a later run of the day finds it again)."""
    row = ctx.row
    kind = Kind(row._mapping["class"])
    queued = await queued_for(ctx.conn, row.payment_id, row.channel_code, row.order_id, kind)
    if queued is None:
        found = (await ctx.conn.execute(_BREAK, {"run": row.run_id, "item": row.item_no})).one()
        why = f"reconciliation run {row.run_id}: {kind}; {ctx.reason}"
        fields = {**found._mapping, "kind": kind, "reason": why[:500]}
        opened = await queue_break(ctx.conn, Break(**fields), ctx.clock.now())
        if opened is not None:
            return Plan(f"exception {opened} opened for a person")
        queued = await queued_for(ctx.conn, row.payment_id, row.channel_code, row.order_id, kind)
        if queued is None:  # the conflict was an item that stands for this break
            raise RuntimeError(f"exception of run {row.run_id} item {row.item_no} vanished")
    if queued.resolution is None:
        return Plan(f"already in the exceptions queue (exception {queued.id})")
    return Plan(
        f"already resolved {queued.resolution} by {queued.resolved_by} (exception {queued.id})"
    )


async def _remote(ctx: Context) -> RemoteBiller | None:
    biller = await billers_repo.by_id(ctx.conn, ctx.row.biller_id) if ctx.row.biller_id else None
    if biller is None or biller.remote is None:
        return None
    return ctx.billers.get(biller)


def _unanswered(result: BillerUnreachable) -> str:
    return f"utility unreachable ({result.reason}): left proposed"


def _said(result: Answer) -> str:
    head = result.message.head
    return f"{head.code} {head.msg}".strip()


HANDLERS: dict[Action, Callable[[Context], Awaitable[Plan]]] = {
    Action.RECONFIRM: reconfirm,
    Action.REVERSE: reverse,
    Action.REFUND: refund,
    Action.EXCEPTION: leave_for_a_person,
}

"""Which events become notifications: one outbox consumer per event type.

A consumer runs in the dispatching transaction: it finds the recipients,
renders the message once per language they need and queues one row per
recipient (a unique index per event and recipient makes a second dispatch
harmless). A reminder (the bill issued, due soon, overdue) goes only to the recipients
whose choice in force wants it (``choices``), and a due-soon or overdue one not at all
for a bill paid since the pass announced it. An event whose payload does not fit its
template is logged and skipped rather than raised: raising would stall the whole outbox (webhooks
included) behind one message nobody can send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog
from jinja2 import TemplateError
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.bindings.reminders import Kind
from utilipay.ids import new_id
from utilipay.notify import params
from utilipay.notify.binding_codes import binding_code, holder_phone
from utilipay.notify.choices import in_force
from utilipay.notify.outlets import outlet_float_low, outlet_owner
from utilipay.notify.recipients import ChannelById, Recipient, account_of, recipients_of
from utilipay.notify.settings import get_notify_settings
from utilipay.notify.staff import collection_warning, warning_contacts
from utilipay.notify.tables import notifications
from utilipay.notify.templates import Rendered, render
from utilipay.outbox.dispatch import Consumer, StoredEvent

log = structlog.get_logger(__name__)


Wanted = Callable[[AsyncConnection, StoredEvent], Awaitable[bool]]
Audience = Callable[[AsyncConnection, StoredEvent], Awaitable[list[Recipient]]]

# An auto-pay's payment has the debit's id as its order id (autopay/send.py); the payer
# hears of it once, as ``autopay.succeeded`` with its receipt, not also as a receipt.
_AUTOPAY_PAYMENT = text(
    "SELECT EXISTS (SELECT 1 FROM autopay_debits"
    " WHERE biller_id = :biller_id AND id = :order_id AND channel_id = :channel_id)"
)


async def not_autopay(conn: AsyncConnection, event: StoredEvent) -> bool:
    payload = event.payload
    found = await conn.execute(
        _AUTOPAY_PAYMENT,
        {
            "biller_id": event.biller_id,
            "order_id": payload["order_id"],
            "channel_id": payload["channel_id"],
        },
    )
    return not found.scalar_one()


_UNPAID = text(
    "SELECT EXISTS (SELECT 1 FROM billing_bills"
    " WHERE biller_id = :biller_id AND bill_no = :bill_no AND status = 'UNPAID')"
)


async def still_unpaid(conn: AsyncConnection, event: StoredEvent) -> bool:
    """A bill paid since its reminder was announced is not worth a reminder any more."""
    found = await conn.execute(
        _UNPAID, {"biller_id": event.biller_id, "bill_no": event.payload["bill_no"]}
    )
    return bool(found.scalar_one())


async def a_reconnect(conn: AsyncConnection, event: StoredEvent) -> bool:
    """Only a reconnect is ever overdue; anything else would be news to nobody."""
    return bool(event.payload.get("action") == "reconnect")


async def first_cut(conn: AsyncConnection, event: StoredEvent) -> bool:
    """The outage notice goes once per episode: a later cut in it says ``notify`` false."""
    return event.payload["notify"] is True


@dataclass(frozen=True, slots=True)
class Rule:
    template: str
    params_of: params.ParamsOf
    bound_payers: bool = False  # every payer bound to the account, not the one the event names
    wanted: Wanted | None = None  # whether this event should be told at all
    topup: Rule | None = None  # the rule instead for a payment into a prepaid balance
    audience: Audience | None = None  # who is told instead of the account's payers and holder
    reminder: Kind | None = None  # told only to whom the reminder choice in force wants it
    secret: frozenset[str] = frozenset()  # params rendered but never stored (a code)

    def for_event(self, event: StoredEvent) -> Rule:
        """A top-up is a payment without bills: its receipt tells the balance instead."""
        if self.topup is not None and event.payload.get("purpose") == params.TOPUP:
            return self.topup
        return self


RULES: Mapping[str, Rule] = {
    "bill.issued": Rule("bill.issued", params.bill_issued, bound_payers=True, reminder="issued"),
    "bill.due_soon": Rule(
        "bill.due_soon",
        params.bill_due_soon,
        bound_payers=True,
        wanted=still_unpaid,
        reminder="due_soon",
    ),
    "bill.overdue": Rule(
        "bill.overdue",
        params.bill_overdue,
        bound_payers=True,
        wanted=still_unpaid,
        reminder="overdue",
    ),
    "payment.succeeded": Rule(
        "payment.receipt",
        params.payment_receipt,
        wanted=not_autopay,
        topup=Rule("prepaid.topup", params.topup_receipt, wanted=not_autopay),
    ),
    "mandate.signed": Rule("mandate.signed", params.mandate),
    "mandate.cancelled": Rule("mandate.cancelled", params.mandate),
    "debit.scheduled": Rule("debit.scheduled", params.debit_scheduled),
    "debit.succeeded": Rule("autopay.succeeded", params.autopay_succeeded),
    "debit.failed": Rule("autopay.failed", params.autopay_failed),
    "debit.skipped": Rule("autopay.failed", params.autopay_failed),
    # A prepaid account's news, to whoever watches the account.
    "prepaid.low": Rule("prepaid.low", params.prepaid_low, bound_payers=True),
    "prepaid.arrears": Rule("prepaid.arrears", params.prepaid_arrears, bound_payers=True),
    "prepaid.cut": Rule("prepaid.cut", params.prepaid_cut, bound_payers=True, wanted=first_cut),
    "prepaid.restored": Rule("prepaid.restored", params.prepaid_restored, bound_payers=True),
    "prepaid.rewarded": Rule("prepaid.rewarded", params.prepaid_rewarded, bound_payers=True),
    "prepaid.statement": Rule("prepaid.statement", params.prepaid_statement, bound_payers=True),
    # A failed disconnect leaves the supply on: the payer is not told, operators see it.
    "meter.command_overdue": Rule(
        "prepaid.reconnect_delayed",
        params.prepaid_reconnect_delayed,
        bound_payers=True,
        wanted=a_reconnect,
    ),
    # An outlet's float ran low: its owner, once per episode (channel-api.md §11).
    "outlet.float_low": Rule("outlet.float_low", outlet_float_low, audience=outlet_owner),
    # A utility's early-warning rule fired: its staff's contacts, once per episode.
    "collection.warning": Rule("collection.warning", collection_warning, audience=warning_contacts),
    # A code verifying a binding (§13): to the phone on record, the code kept out of storage.
    "binding.challenge": Rule(
        "binding.code", binding_code, audience=holder_phone, secret=frozenset({"code"})
    ),
}


class Notify:
    """One event type → a message to each of its recipients."""

    def __init__(self, rule: Rule, channel_by_id: ChannelById, hub_days_before: int) -> None:
        self._rule = rule
        self._channel_by_id = channel_by_id
        self._hub_days_before = hub_days_before  # the due-soon reminder's, past every choice

    async def __call__(self, conn: AsyncConnection, event: StoredEvent, now: datetime) -> None:
        try:
            rule = self._rule.for_event(event)
            if rule.wanted is not None and not await rule.wanted(conn, event):
                return
            account = await account_of(conn, event.biller_id, event.payload["account_no"])
            if rule.audience is not None:
                recipients = await rule.audience(conn, event)
            else:
                recipients = await recipients_of(
                    conn, event, account, self._channel_by_id, bound_payers=rule.bound_payers
                )
            if rule.reminder is not None:
                recipients = await self._chosen(conn, event, rule.reminder, recipients)
            if not recipients:
                return
            values = await rule.params_of(conn, event, account)
            languages = {language for r in recipients for language in r.languages}
            rendered = {lang: render(rule.template, lang, values) for lang in languages}
        except (KeyError, TypeError, ValueError, TemplateError) as exc:
            log.error(
                "notify.event_unusable",
                event_id=event.id,
                event_type=event.event_type,
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        stored = {k: v for k, v in values.items() if k not in rule.secret}
        await _enqueue(conn, event, rule.template, stored, recipients, rendered, now)

    async def _chosen(
        self, conn: AsyncConnection, event: StoredEvent, kind: Kind, recipients: list[Recipient]
    ) -> list[Recipient]:
        chosen = await in_force(
            conn, event.biller_id, event.payload["account_no"], self._hub_days_before
        )
        days_left = event.payload["days_left"] if kind == "due_soon" else None
        return chosen.wanted(recipients, kind, days_left)


async def _enqueue(
    conn: AsyncConnection,
    event: StoredEvent,
    template: str,
    values: Mapping[str, object],
    recipients: list[Recipient],
    rendered: dict[str, Rendered],
    now: datetime,
) -> None:
    rows = [
        {
            "biller_id": event.biller_id,
            "id": new_id("N"),
            "event_id": event.id,
            "template": template,
            "account_no": event.payload["account_no"],
            "recipient_kind": r.kind,
            "channel_id": r.channel_id,
            "address": r.address,
            "language": r.language,
            "params": values,
            "subject": {lang: rendered[lang].subject for lang in r.languages},
            "text": {lang: rendered[lang].text for lang in r.languages},
            "status": "PENDING",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for r in recipients
    ]
    await conn.execute(pg_insert(notifications).values(rows).on_conflict_do_nothing())


def notification_consumers(
    channel_by_id: ChannelById, hub_days_before: int | None = None
) -> dict[str, list[Consumer]]:
    """For the worker's ``Dispatcher``: each event type's notification consumer
    (``hub_days_before``: the due-soon reminder's days past every choice, by default
    ``UTILIPAY_REMIND_DAYS_BEFORE``)."""
    days = get_notify_settings().remind_days_before if hub_days_before is None else hub_days_before
    return {event_type: [Notify(rule, channel_by_id, days)] for event_type, rule in RULES.items()}

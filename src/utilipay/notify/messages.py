"""What each message template is given (``params``), one TypedDict per kind of message.

Params are also what the channel receives, so they stay machine values: amounts in
integer fen, dates ``YYYY-MM-DD``, instants RFC 3339 in Shanghai time. Every kind names
its biller, except the outlet owner's (an outlet's float pays every utility); the kinds
about a debit or a prepaid account share the fields of their family. A test holds each
template to the fields of its kind.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class BillerNews(TypedDict):
    biller: str  # its code
    biller_name: str


class BillIssued(BillerNews):
    account_no: str
    bill_no: str
    period: str  # YYYY-MM
    amount: int
    late_fee: int
    due_date: str


class BillDueSoon(BillerNews):
    account_no: str
    bill_no: str
    amount: int
    late_fee: int
    due_date: str
    days_left: int


class BillOverdue(BillIssued):
    """An overdue notice (逾期提醒): ``late_fee`` is the fee so far, on the day it is sent."""

    days_overdue: int
    schedule_day: int  # the utility's schedule day it was sent for


class PaymentReceipt(BillerNews):
    payment_id: str
    order_id: str
    account_no: str
    bill_nos: list[str]
    amount: int
    receipt_no: str | None
    paid_at: str


class MandateNews(BillerNews):
    """A mandate signed or cancelled."""

    mandate_id: str
    account_no: str
    cap: int
    at: str


class DebitNews(BillerNews):
    """A debit scheduled; the succeeded and failed ones add to it."""

    debit_id: str
    mandate_id: str
    account_no: str
    bill_nos: list[str]
    amount: int
    planned_at: str
    deadline: str
    purpose: str  # autopay, or prepaid_topup
    balance: NotRequired[int]  # prepaid_topup only: the balance it tops up


class AutopaySucceeded(DebitNews):
    payment_id: str
    receipt_no: str | None
    funding_source: str | None
    funding_source_label: str | None  # the label the payer gave the source, else its id
    at: str


class AutopayFailed(DebitNews):
    reason: str
    cap: int | None  # the cap that applied
    due_date: str | None  # the earliest of the bills', when known


class PrepaidNews(BillerNews):
    """What every prepaid message shows: whose account, what it supplies, its balance."""

    category: str  # a cut stops power, water, gas…
    account_no: str
    balance: int  # fen, may be zero or negative


class PrepaidLow(PrepaidNews):
    day: str
    reminder: int


class PrepaidArrears(PrepaidNews):
    day: str
    cut_from: str


class PrepaidCut(PrepaidNews):
    at: str


class PrepaidRestored(PrepaidNews):
    payment_id: str
    state: str  # LOW: positive but still low


class PrepaidRewarded(PrepaidNews):
    payment_id: str
    points: int
    month: str  # YYYY-MM


class PrepaidStatement(PrepaidNews):
    month: str
    opening_balance: int
    top_ups: int
    charges: int
    closing_balance: int
    days: int
    usage: str


class ReconnectDelayed(BillerNews):
    category: str
    account_no: str
    command_id: str
    at: str


class TopupReceipt(BillerNews):
    payment_id: str
    order_id: str
    account_no: str
    amount: int
    receipt_no: str | None
    balance: int
    paid_at: str


class OutletFloatLow(TypedDict):
    """An outlet's free float (balance − held) fell below its threshold (§11)."""

    account_no: str  # the outlet's code: what the notification is filed under
    outlet_name: str
    free: int
    low_threshold: int
    at: str


class BindingCode(BillerNews):
    """The code that verifies a binding (channel-api.md §13): ``code`` is never stored."""

    account_no: str
    code: str
    minutes: int  # how long it is valid


class CollectionWarningNews(BillerNews):
    """A utility's early-warning rule fired (issue 13 §6): to its staff's contacts."""

    account_no: str  # the warning's subject: the utility, a region or CODE/account
    warning_id: int
    kind: str
    summary_en: str
    summary_zh: str
    at: str


Params = (
    BillIssued
    | BillDueSoon
    | BillOverdue
    | PaymentReceipt
    | MandateNews
    | DebitNews
    | AutopaySucceeded
    | AutopayFailed
    | PrepaidLow
    | PrepaidArrears
    | PrepaidCut
    | PrepaidRestored
    | PrepaidRewarded
    | PrepaidStatement
    | ReconnectDelayed
    | TopupReceipt
    | OutletFloatLow
    | CollectionWarningNews
    | BindingCode
)

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from utilipay.billers.connection import RemoteConnection
from utilipay.billers.rules import AccountRule


class Category(StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"
    HEATING = "heating"
    TELECOM = "telecom"
    PROPERTY = "property"
    OTHER = "other"


class IntegrationMode(StrEnum):
    HOSTED = "hosted"  # the hub is the biller's billing back-end
    REMOTE = "remote"  # the biller keeps its own system, reached by the biller protocol


class Verification(StrEnum):
    """How a payer proves an account is theirs before binding it (channel-api.md §13)."""

    NONE = "none"  # anyone may bind and see what is due, as wallets do
    HOLDER_NAME = "holder_name"  # the holder's name on record (or an SMS code)
    SMS = "sms"  # a code sent to the phone on record


class BillerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


@dataclass(frozen=True, slots=True)
class Biller:
    id: int
    code: str
    name: str
    category: Category
    region: str
    parent_id: int | None
    rule: AccountRule
    mode: IntegrationMode
    status: BillerStatus
    min_payment: int
    max_payment: int
    payable_account_id: int
    remote: RemoteConnection | None = None  # how to reach it, for mode remote
    mandate_default_cap: int = 100000  # fen, for a mandate signed without a cap
    mandate_max_cap: int = 500000
    mandate_poll_s: int = 86400  # remote: how often accounts with a mandate are asked for bills
    debit_notice_s: int = 7200  # how long after a bill its debit goes (the notice comes first)
    prepaid_reminder: int = 2000  # fen: a prepaid balance below it is LOW
    prepaid_cut_grace_s: int = 86400  # how long a prepaid account stays in ARREARS before a cut
    prepaid_reward_min: int = 5000  # fen: the smallest top-up that earns the month's reward
    prepaid_reward_points: int = 0  # the reward's points; 0: no reward
    verification: Verification = Verification.NONE  # what binding one of its accounts needs


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """What the hub's bill run needs of a biller."""

    bill_due_days: int  # a run's bills are due that many days after it
    currency: str


CodeOfBiller = Callable[[int], str]  # a lookup: biller id → code, from the directory

"""How money moves: every journal entry is made by ``ledger_post`` (``sql/post.sql``), and
each money flow posts by its rule, here and nowhere else.

Amounts are signed fen, a debit positive and a credit negative; an entry sums to zero (the
database refuses one that does not) and belongs to a biller (``journal_entries.biller_id``,
the shard key). The accounts are those of the plan (``accounts.py``).

``PAYMENT``, a bill payment once written off, one entry per payment:
    debit the channel's ``CHANNEL_RECEIVABLE``, credit the biller's ``BILLER_PAYABLE``, with
    the amount. Hosted: inside ``pay_hosted`` (``ledger_post_payment``). Remote: when the
    biller confirms the write-off (``post_payment``, from ``payments/outcomes.py``). A
    payment that fails or is reversed (冲正) was never booked, so nothing is undone.
    A terminal's payment (channel-api.md §11) debits its outlet's ``OUTLET_FLOAT`` instead
    of the channel's receivable: the outlet pre-paid it (``p_receivable`` is the float's
    account; the float's row moves in the same transaction, ``outlets/sql/floats.sql``).
``PREPAID_TOPUP``, a top-up, one entry per payment:
    debit the channel's ``CHANNEL_RECEIVABLE`` (a terminal's: its outlet's
    ``OUTLET_FLOAT``), credit the account's ``PREPAID_BALANCE``
    (inside ``prepaid_top_up``: ``ledger_post_top_up``). The money is held for the
    account, not owed to the utility yet.
``PREPAID_ACCRUAL``, a day's prepaid use, one entry per biller and day:
    credit the biller's ``BILLER_PAYABLE`` with the day's total (line 1), debit each
    account's ``PREPAID_BALANCE`` with its charge (a line per account). Set-based: the
    accrual's SQL aggregates the day into arrays and calls ``ledger_post_accrual`` once
    per biller (``prepaid/accrual.py``).
``SETTLEMENT``, a payee's business day, one entry (``post_settlement``, from
    ``settlement/service.py``): debit each branch's ``BILLER_PAYABLE`` with its gross
    (write-offs and settled prepaid use), credit each branch's ``HUB_FEE_INCOME`` with its
    fees, each channel's ``REFUND_PAYABLE`` with the refunds deducted, each outlet's
    ``OUTLET_FLOAT`` with the commission the utility pays it (credited to its float), and
    the payee's ``BILLER_SETTLED`` with the net, what is paid out.
``FLOAT_DEPOSIT``, money an agent outlet's owner paid in to fund its float, one entry per
    deposit (``post_float_deposit``, from ``outlets/deposits.py``): debit the hub's
    ``HUB_BANK``, credit the outlet's ``OUTLET_FLOAT`` (``ledger_post_float_deposit``). It
    belongs to no utility: its journal ``biller_id`` is 0, the hub's own book.
``VOUCHER_SALE``, vouchers activated (sold), one entry per activation (``vouchers/service.py``,
    ``ledger_post_voucher_sale``): credit the utility's ``VOUCHER_LIABILITY`` with their face
    values; debit the selling outlet's ``OUTLET_FLOAT`` (its float paid them), or, when the
    utility sold them itself, its ``BILLER_PAYABLE``: the utility holds the cash, so the hub
    owes it that much less, and the redemption's credit to the payable nets to nothing.
``VOUCHER_REDEMPTION``, a voucher redeemed, one entry per redemption (inside
    ``voucher_redeem_many``, ``ledger_post_voucher_redemptions``): debit ``VOUCHER_LIABILITY`` with
    the face value; credit ``BILLER_PAYABLE`` with the bills written off, the account's
    ``PREPAID_BALANCE`` with what went to it, the utility's ``VOUCHER_CREDIT`` with what is
    left for the account's next bills (a line per part that is not zero).
``VOUCHER_CREDIT_USE``, bills written off from an account's voucher credit when they are
    issued (``vouchers_use_credit``): debit ``VOUCHER_CREDIT``, credit ``BILLER_PAYABLE``.
``VOUCHER_BREAKAGE``, sold vouchers expired unredeemed, one entry per utility and daily run
    (``vouchers/expiry.py``): debit ``VOUCHER_LIABILITY``, credit ``BILLER_PAYABLE`` (the
    utility keeps their value).
Issuing, voiding unsold vouchers and expiring them move no money (the audit log has them).
``PAYMENT_VOID``, a terminal payment voided the same day (channel-api.md §11), one entry per
    void (``post_payment_void``, from ``payments/void_outcomes.py``, in the transaction
    that makes the payment VOIDED): debit the biller's ``BILLER_PAYABLE``, credit the
    outlet's ``OUTLET_FLOAT``, with the payment's amount: its ``PAYMENT`` entry reversed
    (a terminal payment's debits the outlet's float instead of the channel's receivable),
    under the same biller and payment id. A void pending at a remote utility has no entry
    until the utility has undone the write-off.
Refunds (contract 2, ``recon``) have no entry of their own: settlement deducts them from the
utility's net into the channel's ``REFUND_PAYABLE``.

``utilipay check`` (``check.py``) proves each rule against the payments, accruals and
settlements that caused the entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.ledger.accounts import AccountKind, Owner, find_or_open, hub_bank


class EntryKind(StrEnum):
    PAYMENT = "PAYMENT"
    PREPAID_TOPUP = "PREPAID_TOPUP"
    PREPAID_ACCRUAL = "PREPAID_ACCRUAL"
    SETTLEMENT = "SETTLEMENT"
    FLOAT_DEPOSIT = "FLOAT_DEPOSIT"
    PAYMENT_VOID = "PAYMENT_VOID"


_POST = text(
    "SELECT ledger_post(:biller_id, :kind, :at, :accounts, :amounts, :payment_id, :memo)"
).bindparams(
    bindparam("accounts", type_=ARRAY(Integer)), bindparam("amounts", type_=ARRAY(BigInteger))
)
_PAYMENT = text(
    """
    SELECT ledger_post_payment(
        :biller_id, :payment_id, :at,
        coalesce(CAST(:receivable AS integer),
                 ledger_account('CHANNEL_RECEIVABLE', p_channel_id => :channel_id)),
        ledger_account('BILLER_PAYABLE', :biller_id), :amount)
    """
)


async def post(
    conn: AsyncConnection,
    *,
    biller_id: int,
    kind: EntryKind,
    at: datetime,
    lines: Sequence[tuple[int, int]],
    payment_id: str | None = None,
    memo: str = "",
) -> int:
    """One entry with a posting per ``(account, amount)``, in their order; its id."""
    entry = await conn.scalar(
        _POST,
        {
            "biller_id": biller_id,
            "kind": kind.value,
            "at": at,
            "accounts": [account for account, _ in lines],
            "amounts": [amount for _, amount in lines],
            "payment_id": payment_id,
            "memo": memo,
        },
    )
    return int(entry)


async def post_payment(
    conn: AsyncConnection,
    *,
    biller_id: int,
    channel_id: int,
    payment_id: str,
    amount: int,
    at: datetime,
    receivable: int | None = None,
) -> int:
    """A bill payment written off at a remote biller (the rule of ``PAYMENT``); a
    terminal's debits its outlet's float (``receivable``) instead of the channel."""
    entry = await conn.scalar(
        _PAYMENT,
        {
            "biller_id": biller_id,
            "channel_id": channel_id,
            "payment_id": payment_id,
            "amount": amount,
            "at": at,
            "receivable": receivable,
        },
    )
    return int(entry)


_FLOAT_DEPOSIT = text("SELECT ledger_post_float_deposit(:at, :bank, :float, :amount, :reference)")


async def post_float_deposit(
    conn: AsyncConnection, clock: Clock, *, float_account: int, amount: int, reference: str
) -> int:
    """A deposit to an outlet's float (the rule of ``FLOAT_DEPOSIT``); the hub's bank
    account is opened by the first."""
    bank = await hub_bank(conn, clock)
    values = {"at": clock.now(), "bank": bank, "float": float_account, "amount": amount,
              "reference": reference}  # fmt: skip
    return int(await conn.scalar(_FLOAT_DEPOSIT, values))


_PAYMENT_VOID = text(
    """
    SELECT ledger_post_payment_void(:biller_id, :payment_id, :at,
                                    ledger_account('BILLER_PAYABLE', :biller_id), :float, :amount)
    """
)


async def post_payment_void(
    conn: AsyncConnection,
    *,
    biller_id: int,
    payment_id: str,
    float_account: int,
    amount: int,
    at: datetime,
) -> int:
    """A terminal payment voided (the rule of ``PAYMENT_VOID``)."""
    values = {"biller_id": biller_id, "payment_id": payment_id, "float": float_account,
              "amount": amount, "at": at}  # fmt: skip
    return int(await conn.scalar(_PAYMENT_VOID, values))


@dataclass(frozen=True, slots=True)
class BranchShare:
    """A branch's part of a settlement: its gross and the hub's fees on it (fen)."""

    branch: Owner
    gross: int
    fees: int


async def post_settlement(
    conn: AsyncConnection,
    clock: Clock,
    *,
    payee: Owner,
    day: date,
    branches: Sequence[BranchShare],
    refunds: Mapping[Owner, int],
    commissions: Mapping[int, int] | None = None,
) -> int | None:
    """A payee's day settled (the rule of ``SETTLEMENT``): its entry, none when nothing
    moves. The accounts are opened on first use; an outlet's float account
    (``commissions``: account id -> fen) is opened with its outlet."""
    lines: list[tuple[int, int]] = []
    for share in branches:
        payable = await find_or_open(conn, clock, AccountKind.BILLER_PAYABLE, share.branch)
        fees = await find_or_open(conn, clock, AccountKind.HUB_FEE_INCOME, share.branch)
        lines += [(payable, share.gross), (fees, -share.fees)]
    for channel, amount in sorted(refunds.items(), key=lambda item: item[0].id):
        account = await find_or_open(conn, clock, AccountKind.REFUND_PAYABLE, channel)
        lines.append((account, -amount))
    for float_account, commission in sorted((commissions or {}).items()):
        lines.append((float_account, -commission))
    settled = await find_or_open(conn, clock, AccountKind.BILLER_SETTLED, payee)
    lines.append((settled, -sum(amount for _, amount in lines)))  # the net
    moving = [(account, amount) for account, amount in lines if amount != 0]
    if not moving:
        return None
    return await post(
        conn,
        biller_id=payee.id,
        kind=EntryKind.SETTLEMENT,
        at=clock.now(),
        lines=moving,
        memo=f"settlement of {day}",
    )

"""Redeeming a voucher (``POST /v1/vouchers/redeem``, and a terminal's ``tender: voucher``):
one database call, ``voucher_redeem_many`` (``sql/redeem.sql``), in a transaction it shares with
the redemptions that queued beside it (``Redemptions``, a ``db.batches.Batcher``: one
``voucher_redeem_batch`` call and one commit for them, each with its own answer).

The brake (§12): 5 invalid PINs for one payer (of a channel) or one account within 15
minutes lock it out for 15 minutes, in the database so every server process sees it, as of
the injected clock. An invalid PIN's failure is committed before the refusal is answered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers.schemas import Biller, IntegrationMode
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock
from utilipay.db.batches import Batcher
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments.schemas import StoredPayment
from utilipay.vouchers.pins import existing_key, pin_hash

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# A utility without a key has issued no voucher: every PIN is hashed with this and not found.
_NO_KEY = b"\0" * 32

_REDEEM_BATCH = """
SELECT r.item, r.outcome, r.detail, (r.payment).*, (r.redemption).face AS voucher_face,
       (r.redemption).bills AS voucher_bills, (r.redemption).prepaid AS voucher_prepaid,
       (r.redemption).credit AS voucher_credit
  FROM voucher_redeem_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) r
"""
_REFUSALS = {
    "REPLAYED": ErrorCode.UNAUTHENTICATED,
    "IDEMPOTENCY_CONFLICT": ErrorCode.IDEMPOTENCY_CONFLICT,
    "ACCOUNT_NOT_FOUND": ErrorCode.ACCOUNT_NOT_FOUND,
    "RATE_LIMITED": ErrorCode.RATE_LIMITED,
    "VOUCHER_INVALID": ErrorCode.VOUCHER_INVALID,
}


@dataclass(frozen=True, slots=True)
class RedeemCommand:
    """A voucher to redeem for an account: what any front end (a channel, a terminal) gives."""

    channel: Channel
    order_id: str
    pin: str
    biller: Biller
    account_no: str
    payer: str
    nonce: str | None = None  # a signed request's nonce, recorded in the same transaction


class AppliedBill(TypedDict):
    """A bill a redemption paid, whole."""

    bill_no: str
    amount: int


@dataclass(frozen=True, slots=True)
class Redemption:
    payment: StoredPayment
    face: int
    bills: list[AppliedBill]  # oldest first
    prepaid: int
    credit: int
    created: bool  # False: the same order again, its redemption

    def as_json(self) -> dict[str, object]:
        """The answer of channel-api.md §12."""
        return {
            "id": self.payment.id,
            "status": self.payment.status,
            "amount": self.face,
            "applied": {"bills": self.bills, "prepaid": self.prepaid, "credit": self.credit},
            "receipt_no": self.payment.receipt_no,
        }


class Keys:
    """Each utility's PIN key, read once per process (a key never changes once made)."""

    def __init__(self) -> None:
        self._keys: dict[int, bytes] = {}

    async def of(self, engine: AsyncEngine, biller_id: int) -> bytes:
        if biller_id not in self._keys:
            async with engine.connect() as conn:
                key = await existing_key(conn, biller_id)
            if key is None:
                return _NO_KEY
            self._keys[biller_id] = key
        return self._keys[biller_id]


def validate(command: RedeemCommand) -> None:
    """The checks that need no database."""
    command.biller.rule.check(command.biller.code, command.account_no)
    if command.biller.mode is not IntegrationMode.HOSTED:
        # A remote utility keeps its bills and balances itself and the biller protocol has no
        # voucher call, so the hub could only turn a voucher into an ordinary payment there;
        # it issues no vouchers for such a utility, and says so rather than "invalid".
        raise DomainError(
            ErrorCode.VOUCHER_INVALID,
            f"biller {command.biller.code} takes no vouchers (its accounts are kept remotely)",
        )


def _fingerprint(command: RedeemCommand, hashed: bytes) -> bytes:
    canonical = "\x1f".join(
        ("voucher", command.biller.code, command.account_no, hashed.hex(), command.payer)
    )
    return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True, slots=True)
class _Redeeming:
    """A redemption as the database takes it: the PIN hashed already."""

    command: RedeemCommand
    payment_id: str
    pin_hash: bytes


class Redemptions(Batcher[_Redeeming, asyncpg.Record]):
    """The redemptions of a process, each answered as if redeemed alone."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, *, max_in_flight: int, max_batch: int = 64
    ) -> None:
        super().__init__(engine, clock, max_in_flight=max_in_flight, max_batch=max_batch)
        self._keys = Keys()

    async def redeem(self, command: RedeemCommand, payment_id: str) -> Redemption:
        """Redeem ``command``'s voucher as payment ``payment_id``; a refusal raises."""
        validate(command)
        hashed = pin_hash(await self._keys.of(self._engine, command.biller.id), command.pin)
        row = await self.submit(_Redeeming(command, payment_id, hashed))
        outcome = row["outcome"]
        if outcome in _REFUSALS:
            raise DomainError(_REFUSALS[outcome], row["detail"])
        return Redemption(
            payment=StoredPayment.of(row),
            face=row["voucher_face"],
            bills=_bills(row["voucher_bills"]),
            prepaid=row["voucher_prepaid"],
            credit=row["voucher_credit"],
            created=outcome == "CREATED",
        )

    def _lock_order(self, item: _Redeeming) -> tuple[int, str]:
        # a redemption locks its account's bills and prepaid balance (and its PIN's voucher)
        return item.command.biller.id, item.command.account_no

    async def _fetch(
        self, raw: asyncpg.Connection, items: list[_Redeeming]
    ) -> list[asyncpg.Record]:
        commands = [item.command for item in items]
        rows: list[asyncpg.Record] = await raw.fetch(
            _REDEEM_BATCH,
            [item.payment_id for item in items],
            [c.channel.id for c in commands],
            [c.nonce for c in commands],
            [c.order_id for c in commands],
            [_fingerprint(item.command, item.pin_hash) for item in items],
            [c.biller.id for c in commands],
            [c.account_no for c in commands],
            [c.payer for c in commands],
            [item.pin_hash for item in items],
            self._clock.now(), MAX_FAILURES, WINDOW, LOCKOUT,
        )  # fmt: skip
        return rows

    def _result(self, row: asyncpg.Record) -> asyncpg.Record:
        return row


def _bills(value: str | list[AppliedBill]) -> list[AppliedBill]:
    """The jsonb of the redemption's bills (asyncpg hands jsonb over as text)."""
    return list(orjson.loads(value)) if isinstance(value, str) else list(value)

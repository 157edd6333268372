"""The write-off path of remote billers: accept, charge (销账) over the protocol, record.

1. The order is looked up first: a repeat returns its payment without asking
   the biller anything.
2. Without ``bill_nos`` the biller is asked which bills are due (the amount
   must equal their total); it refuses with 503 if it cannot tell, writing
   nothing.
3. Accepting is one short transaction: the payment (PROCESSING) and a claim
   on each bill, so no second hub payment can take them. A terminal's payment
   holds its amount in the outlet's float first (FLOAT_INSUFFICIENT if it cannot);
   the outcome takes or releases it (``outcomes.py``). A forwarded payment whose
   bill another payment claimed is listed in the outlet's refunds-due.
4. The charge goes out with no database connection held (a biller may take
   seconds), then its answer is recorded: SUCCEEDED, FAILED, or — when the
   answer never came or cannot be trusted — still PROCESSING, for the resolver.
   Its first check is due only after the charge's own timeout, so the two
   never work one payment at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.accounts.connector import BillerConnector
from utilipay.billers.remote import RemoteBillers
from utilipay.billers.schemas import CodeOfBiller
from utilipay.channels import repository as channels_repo
from utilipay.claims import service as claims
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.ids import new_id
from utilipay.outlets import floats
from utilipay.payments import repository
from utilipay.payments.resolution import Step, apply_charge_answer, call, charge_request
from utilipay.payments.rules import fingerprint_of
from utilipay.payments.schemas import Payment, PaymentCommand, StoredPayment
from utilipay.payments.service import PaymentResult
from utilipay.payments.tables import payments

# The order id is claimed first, across billers (migration 0022); no claim, no payment.
_ACCEPT = text(
    """
    WITH claimed AS (
        INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
        VALUES (:channel_id, :order_id, :biller_id, :id)
        ON CONFLICT (channel_id, order_id) DO NOTHING
        RETURNING *)
    INSERT INTO payments (biller_id, id, channel_id, order_id, request_hash, payer, account_no,
                          amount, bill_nos, status, created_at, resolution, next_check_at,
                          resolve_by)
    SELECT biller_id, payment_id, channel_id, order_id, :request_hash, :payer, :account_no,
           :amount, :bill_nos, 'PROCESSING', :now, 'CHARGING', :first_check, :resolve_by
      FROM claimed
    RETURNING *
    """
)


class RemoteWriteOff:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        billers: RemoteBillers,
        connector: BillerConnector,
        channel_code: Callable[[int], str],
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._billers = billers
        self._connector = connector
        self._channel_code = channel_code

    async def pay(self, command: PaymentCommand, biller_code: CodeOfBiller) -> PaymentResult:
        fingerprint = fingerprint_of(command)
        async with self._engine.begin() as conn:
            if command.nonce is not None and not await channels_repo.consume_nonce(
                conn, command.channel.id, command.nonce, self._clock.now()
            ):
                raise DomainError(ErrorCode.UNAUTHENTICATED, "nonce already used")
            existing = await repository.by_order(conn, command.channel.id, command.order_id)
        if existing is not None:
            return _repeat(existing, fingerprint, biller_code)
        bill_nos = command.bill_nos or await self._bills_due(command)
        try:
            accepted = await self._accept(command, bill_nos, fingerprint)
        except DomainError as refused:
            await self._refund_due(command, refused)
            raise
        if not isinstance(accepted, str):
            return _repeat(accepted, fingerprint, biller_code)
        return PaymentResult(await self._charge(command, accepted, biller_code), created=True)

    async def _bills_due(self, command: PaymentCommand) -> tuple[str, ...]:
        due = await self._connector.query(self._engine, command.biller, command.account_no)
        if not due.bills:
            raise DomainError(
                ErrorCode.NO_BILL_DUE, f"account {command.account_no} has nothing due"
            )
        if due.total != command.amount:
            raise DomainError(
                ErrorCode.AMOUNT_MISMATCH, f"bills total {due.total}, got {command.amount}"
            )
        return tuple(b.bill_no for b in due.bills)

    async def _accept(
        self, command: PaymentCommand, bill_nos: tuple[str, ...], fingerprint: bytes
    ) -> str | StoredPayment:
        """The new payment's id, or the payment of a concurrent twin that got the order first."""
        remote = command.biller.remote
        if remote is None:
            raise DomainError(
                ErrorCode.BILLER_UNAVAILABLE, f"biller {command.biller.code} has no connection"
            )
        now = self._clock.now()
        payment_id = new_id("P")
        terminal = command.terminal
        async with self._engine.begin() as conn:
            # the float's row before anything else (outlets/sql/floats.sql: lock order)
            if terminal and not await floats.hold(conn, terminal, command.biller.id,
                                                  command.amount, now):  # fmt: skip
                raise DomainError(
                    ErrorCode.FLOAT_INSUFFICIENT,
                    f"the float of outlet {terminal.outlet_id} cannot cover {command.amount}",
                )
            row = (
                await conn.execute(
                    _ACCEPT,
                    {
                        "biller_id": command.biller.id,
                        "id": payment_id,
                        "channel_id": command.channel.id,
                        "order_id": command.order_id,
                        "request_hash": fingerprint,
                        "payer": command.payer,
                        "account_no": command.account_no,
                        "amount": command.amount,
                        "bill_nos": list(bill_nos),
                        "now": now,
                        "first_check": now
                        + timedelta(seconds=remote.total_timeout)
                        + remote.delay(0),
                        "resolve_by": now + remote.resolution_deadline,
                    },
                )
            ).first()
            if row is None:
                if terminal:
                    await floats.unhold(conn, terminal, command.amount, now)
                return await _twin(conn, command)
            if terminal:
                await floats.record(
                    conn,
                    terminal,
                    biller_id=command.biller.id,
                    payment_id=payment_id,
                    amount=command.amount,
                    state="HELD",
                    now=now,
                )
            await claims.claim(conn, command.biller.id, bill_nos, payment_id, now)
        return payment_id

    async def _refund_due(self, command: PaymentCommand, refused: DomainError) -> None:
        """A forwarded payment whose bill was paid meanwhile: the collector holds the cash."""
        terminal = command.terminal
        if refused.code is not ErrorCode.BILL_ALREADY_PAID or not terminal:
            return
        if terminal.collected_at is None:
            return
        async with self._engine.begin() as conn:
            await floats.refund_due(
                conn,
                terminal,
                channel_id=command.channel.id,
                order_id=command.order_id,
                biller_id=command.biller.id,
                account_no=command.account_no,
                bill_nos=command.bill_nos,
                amount=command.amount,
                reason=refused.code.value,
                detail=refused.detail,
                now=self._clock.now(),
            )

    async def _charge(
        self, command: PaymentCommand, payment_id: str, biller_code: CodeOfBiller
    ) -> Payment:
        remote = self._billers.get(command.biller)
        async with self._engine.connect() as conn:
            payment = await _locked(conn, command.biller.id, payment_id, lock=False)
        result = await call(remote, charge_request(payment, command.channel.code))
        async with self._engine.begin() as conn:
            payment = await _locked(conn, command.biller.id, payment_id, lock=True)
            step = Step(conn, self._clock, remote, payment, command.channel.code)
            await step.log(result)
            if payment.status == "PROCESSING":
                await apply_charge_answer(step, result)
            final = await _locked(conn, command.biller.id, payment_id, lock=False)
        return StoredPayment.of(final._mapping).for_channel(biller_code)


async def _locked(conn: AsyncConnection, biller_id: int, payment_id: str, *, lock: bool) -> Any:
    query = select(payments).where(payments.c.biller_id == biller_id, payments.c.id == payment_id)
    return (await conn.execute(query.with_for_update() if lock else query)).one()


async def _twin(conn: AsyncConnection, command: PaymentCommand) -> StoredPayment:
    """The payment whose claim on the order stopped this one's: committed, so it is found."""
    twin = await repository.by_order(conn, command.channel.id, command.order_id)
    if twin is None:
        raise RuntimeError(f"order {command.order_id} is claimed, yet has no payment")
    return twin


def _repeat(
    existing: StoredPayment, fingerprint: bytes, biller_code: CodeOfBiller
) -> PaymentResult:
    if existing.request_hash != fingerprint:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"order {existing.order_id} was already used for a different request",
        )
    return PaymentResult(existing.for_channel(biller_code), created=False)

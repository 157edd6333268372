"""An outlet's float from Python: holds and outcomes of remote write-offs, the change hook.

The SQL is ``sql/floats.sql`` (hosted payments reach it inside ``pay_hosted``). Every
function takes the caller's connection and never commits. Lock order: a transaction
locks a float row before any bill (see the file's head); a remote outcome locks its
payment row first, then the float.

``after_change(conn, outlet_id, clock)`` is for whoever raises a float (a deposit, a
void): it ends the outlet's low-float episode once the free float (balance − held) is
back at or above its threshold. It never starts one: only a payment lowers a float,
and a payment starts the episode, with the owner's one message, itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.outlets.terminals import TerminalPayment

_LOCK = text("SELECT outlet_floats_lock(CAST(:outlet_ids AS integer[]))")
_TAKE = text("SELECT outlet_float_take(:outlet_id, :amount, :biller_id, :now)")
_RESERVE = text("SELECT outlet_float_reserve(:outlet_id, :amount, :state, :biller_id, :now)")
_RECORD = text(
    "SELECT outlet_payment_record(CAST(:terminal AS jsonb), :biller_id, :payment_id, :amount,"
    " :state, :now)"
)
_SETTLE = text("SELECT outlet_payment_settle(:biller_id, :payment_id, :state, :now)")
_AFTER_CHANGE = text(
    "SELECT outlet_low_float(outlet_id, NULL, balance - held, :now) FROM outlet_floats"
    " WHERE outlet_id = :outlet_id"
)
_REFUND_DUE = text(
    "SELECT outlet_refund_due(CAST(:terminal AS jsonb), :channel_id, :order_id, :biller_id,"
    " :account_no, :bill_nos, :amount, :reason, :detail, :now)"
)


async def lock(conn: AsyncConnection, outlet_ids: list[int]) -> None:
    """Lock these floats first, as the lock order wants, when the amount to take is known
    only after other rows are locked (a voucher sale counts the vouchers it takes)."""
    await conn.execute(_LOCK, {"outlet_ids": outlet_ids})


async def take(
    conn: AsyncConnection, outlet_id: int, amount: int, biller_id: int, now: datetime
) -> bool:
    """A debit of the float that is not a terminal payment (vouchers sold at the outlet for
    ``biller_id``), under the same rules: False, nothing changed, if the free float cannot
    cover it; the low-float episode starts as for a payment."""
    values = {"outlet_id": outlet_id, "amount": amount, "biller_id": biller_id, "now": now}
    return bool(await conn.scalar(_TAKE, values))


async def hold(
    conn: AsyncConnection, terminal: TerminalPayment, biller_id: int, amount: int, now: datetime
) -> bool:
    """Hold ``amount`` while a remote write-off is PROCESSING; False if the float's free
    part cannot cover it (nothing changed then)."""
    values = {"outlet_id": terminal.outlet_id, "amount": amount, "state": "HELD"}
    return bool(await conn.scalar(_RESERVE, {**values, "biller_id": biller_id, "now": now}))


async def unhold(
    conn: AsyncConnection, terminal: TerminalPayment, amount: int, now: datetime
) -> None:
    """Undo ``hold`` in its own transaction (a concurrent twin made the payment instead)."""
    values = {"outlet_id": terminal.outlet_id, "amount": -amount, "state": "HELD"}
    await conn.execute(_RESERVE, {**values, "biller_id": None, "now": now})


async def record(
    conn: AsyncConnection,
    terminal: TerminalPayment,
    *,
    biller_id: int,
    payment_id: str,
    amount: int,
    state: str,
    now: datetime,
) -> None:
    """Which outlet, terminal and operator took the payment, and its float state."""
    await conn.execute(
        _RECORD,
        {
            "terminal": terminal.as_json(),
            "biller_id": biller_id,
            "payment_id": payment_id,
            "amount": amount,
            "state": state,
            "now": now,
        },
    )


async def settle(
    conn: AsyncConnection, biller_id: int, payment_id: str, state: str, now: datetime
) -> int | None:
    """A remote payment's outcome reaches its float: TAKEN or RELEASED. The float account
    its PAYMENT entry debits; None when no terminal took the payment."""
    values = {"biller_id": biller_id, "payment_id": payment_id, "state": state, "now": now}
    account = await conn.scalar(_SETTLE, values)
    return None if account is None else int(account)


async def after_change(conn: AsyncConnection, outlet_id: int, clock: Clock) -> None:
    """Call after raising the float of ``outlet_id`` (a deposit, a void), in the same
    transaction: the low-float episode ends if the float is back at its threshold."""
    await conn.execute(_AFTER_CHANGE, {"outlet_id": outlet_id, "now": clock.now()})


async def refund_due(
    conn: AsyncConnection,
    terminal: TerminalPayment,
    *,
    channel_id: int,
    order_id: str,
    biller_id: int,
    account_no: str,
    bill_nos: tuple[str, ...] | None,
    amount: int,
    reason: str,
    detail: str,
    now: datetime,
) -> None:
    """A forwarded payment refused for bills paid meanwhile: the collector gives it back."""
    await conn.execute(
        _REFUND_DUE,
        {
            "terminal": terminal.as_json(),
            "channel_id": channel_id,
            "order_id": order_id,
            "biller_id": biller_id,
            "account_no": account_no,
            "bill_nos": list(bill_nos or ()),
            "amount": amount,
            "reason": reason,
            "detail": detail,
            "now": now,
        },
    )

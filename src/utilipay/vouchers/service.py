"""A batch's life after issue: sold (activated), voided, expired, listed.

Every state change is in the ledger (a sale, a breakage) or the audit log (a void, unsold
vouchers expiring), and each command is one transaction that the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import service as billers_service
from utilipay.clock import Clock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.outlets import floats
from utilipay.outlets import repository as outlets
from utilipay.vouchers.pins import parse_serial, serial
from utilipay.vouchers.tables import voucher_batches, vouchers

STATES = ("ISSUED", "ACTIVE", "REDEEMED", "EXPIRED", "VOID")


@dataclass(frozen=True, slots=True)
class Selection:
    """Vouchers named on the command line: a whole batch, or a serial range in one."""

    batch: int | None = None
    first: str | None = None
    last: str | None = None  # None: only ``first``


@dataclass(frozen=True, slots=True)
class _Range:
    batch_id: int
    biller_id: int
    face: int
    expires_on: date
    low: int
    high: int
    explicit: bool  # serials named one by one: every one must be ISSUED


@dataclass(frozen=True, slots=True)
class Changed:
    batch_id: int
    count: int
    amount: int  # fen: face value times count


async def _resolve(conn: AsyncConnection, chosen: Selection) -> _Range:
    if (chosen.batch is None) == (chosen.first is None):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "give --batch or --serial")
    if chosen.first is not None:
        batch_id, low = parse_serial(chosen.first)
        last_batch, high = parse_serial(chosen.last) if chosen.last else (batch_id, low)
        if last_batch != batch_id or high < low:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST, "--to-serial must follow --serial in the same batch"
            )
    else:
        batch_id, low, high = chosen.batch or 0, 1, 2**31 - 1
    query = select(voucher_batches).where(voucher_batches.c.id == batch_id)
    found = (await conn.execute(query)).mappings().one_or_none()
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no voucher batch {batch_id}")
    return _Range(batch_id, found["biller_id"], found["face"], found["expires_on"], low,
                  min(high, found["count"]), chosen.first is not None)  # fmt: skip


async def _take_issued(conn: AsyncConnection, chosen: _Range, **values: object) -> int:
    """Move the ISSUED vouchers of ``chosen`` to ``values``; how many moved."""
    in_range = (
        (vouchers.c.biller_id == chosen.biller_id)
        & (vouchers.c.batch_id == chosen.batch_id)
        & vouchers.c.seq.between(chosen.low, chosen.high)
    )
    moved = await conn.execute(
        update(vouchers).where(in_range & (vouchers.c.state == "ISSUED")).values(**values)
    )
    count = moved.rowcount
    wanted = chosen.high - chosen.low + 1
    if chosen.explicit and count != wanted:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"{wanted - count} of serials {serial(chosen.batch_id, chosen.low)}.."
            f"{serial(chosen.batch_id, chosen.high)} are missing or not ISSUED",
        )
    if count == 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "no ISSUED voucher in the selection")
    return count


_PAYABLE = text("SELECT ledger_account('BILLER_PAYABLE', :biller)")
_SALE = text("SELECT ledger_post_voucher_sale(:biller, :at, :seller, :amount, :memo)")


async def _selling_outlet(conn: AsyncConnection, outlet: tuple[str, str]) -> tuple[int, int]:
    """(id, float account) of an active outlet, by channel and outlet code."""
    found = await outlets.outlet(conn, *outlet)
    if found is None or found.status != "ACTIVE":
        raise DomainError(ErrorCode.NOT_FOUND, f"no active outlet {outlet[0]}/{outlet[1]}")
    return found.id, found.float_account


async def _pay_from_float(
    conn: AsyncConnection, outlet_id: int, amount: int, biller_id: int, now: datetime
) -> None:
    """The outlets' own debit of the float: one conditional update, and the low-float rule
    (the owner's message) applies to a sale as to a payment."""
    if not await floats.take(conn, outlet_id, amount, biller_id, now):
        raise DomainError(
            ErrorCode.FLOAT_INSUFFICIENT, f"the outlet's float cannot cover {amount} fen"
        )


async def activate(
    conn: AsyncConnection,
    clock: Clock,
    chosen: Selection,
    *,
    outlet: tuple[str, str] | None,
    actor: str,
) -> Changed:
    """Sell the ISSUED vouchers of ``chosen``: by ``outlet`` (channel and outlet code),
    whose float pays their face value, or by the utility itself, which holds the cash (what
    the hub owes it is reduced by as much, see ``ledger/flows.py``)."""
    found = await _resolve(conn, chosen)
    if found.expires_on < business_date(clock.now()):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"batch {found.batch_id} has expired")
    seller = await _selling_outlet(conn, outlet) if outlet else None
    if seller:  # the float before the vouchers (outlets/sql/floats.sql: lock order)
        await floats.lock(conn, [seller[0]])
    count = await _take_issued(conn, found, state="ACTIVE", state_at=clock.now(),
                               outlet_id=seller[0] if seller else None)  # fmt: skip
    amount = count * found.face
    if seller:
        await _pay_from_float(conn, seller[0], amount, found.biller_id, clock.now())
        paying = seller[1]
    else:
        paying = int(await conn.scalar(_PAYABLE, {"biller": found.biller_id}))
    memo = f"{count} vouchers of batch {found.batch_id} sold"
    await conn.execute(_SALE, {"biller": found.biller_id, "at": clock.now(), "seller": paying,
                               "amount": amount, "memo": memo})  # fmt: skip
    await audit.record(
        conn, clock, actor=actor, action="vouchers.activate", object_type="voucher_batch",
        object_id=str(found.batch_id),
        details={"count": count, "amount": amount, "outlet": "/".join(outlet or ())},
    )  # fmt: skip
    return Changed(found.batch_id, count, amount)


async def void(
    conn: AsyncConnection, clock: Clock, chosen: Selection, *, reason: str, actor: str
) -> Changed:
    """Void unsold (ISSUED) vouchers: lost or stolen stock. A sold voucher is its holder's
    money: it runs to redemption or expiry."""
    if not reason.strip():
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "a void needs a reason")
    found = await _resolve(conn, chosen)
    count = await _take_issued(conn, found, state="VOID", state_at=clock.now(), reason=reason)
    await audit.record(
        conn, clock, actor=actor, action="vouchers.void", object_type="voucher_batch",
        object_id=str(found.batch_id), reason=reason,
        details={"count": count, "first": serial(found.batch_id, found.low),
                 "last": serial(found.batch_id, found.high)},
    )  # fmt: skip
    return Changed(found.batch_id, count, count * found.face)


@dataclass(frozen=True, slots=True)
class BatchFigures:
    id: int
    biller: str
    face: int
    count: int
    expires_on: date
    issued_at: datetime
    states: dict[str, int]

    def as_json(self) -> dict[str, object]:
        return {"batch": self.id, "biller": self.biller, "face": self.face, "count": self.count,
                "expires_on": self.expires_on.isoformat(),
                "issued_at": self.issued_at.isoformat(), "states": self.states}  # fmt: skip


async def batches(
    conn: AsyncConnection, biller: str, batch: int | None = None
) -> list[BatchFigures]:
    """A utility's batches (or one), each with how many vouchers are in each state."""
    found = await billers_service.hosted_biller(conn, biller, "vouchers")
    counts = [func.count().filter(vouchers.c.state == s).label(s) for s in STATES]
    query = (
        select(voucher_batches, *counts)
        .join(
            vouchers,
            (vouchers.c.biller_id == voucher_batches.c.biller_id)
            & (vouchers.c.batch_id == voucher_batches.c.id),
        )
        .where(voucher_batches.c.biller_id == found.id)
        .group_by(voucher_batches.c.biller_id, voucher_batches.c.id)
        .order_by(voucher_batches.c.id)
    )
    if batch is not None:
        query = query.where(voucher_batches.c.id == batch)
    rows = (await conn.execute(query)).mappings().all()
    return [BatchFigures(r["id"], found.code, r["face"], r["count"], r["expires_on"],
                         r["issued_at"], {s: r[s] for s in STATES}) for r in rows]  # fmt: skip

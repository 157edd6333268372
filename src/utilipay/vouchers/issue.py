"""Issuing a batch: a million vouchers in one transaction, set-based.

PINs are drawn and hashed here, in chunks; each chunk goes to the database with COPY into
a scratch table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` (a PIN whose hash a
voucher of the utility already has is drawn again, so no two vouchers answer to one PIN).
Each chunk's serials and PINs are handed to ``sink`` (the issue file) once they are in;
the PINs exist nowhere else. The caller commits, then keeps the file; a failed commit
must delete it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.billers import service as billers_service
from utilipay.clock import Clock, business_date
from utilipay.db.engine import raw_connection
from utilipay.errors import DomainError, ErrorCode
from utilipay.ledger.accounts import AccountKind, Owner, find_or_open
from utilipay.vouchers.pins import biller_key, new_pin, pin_hash, serial
from utilipay.vouchers.tables import voucher_batches

MAX_COUNT = 10_000_000
CHUNK = 50_000

# Serial, PIN: a chunk of the issue file.
Sink = Callable[[Sequence[tuple[str, str]]], None]

_STAGE = "CREATE TEMP TABLE voucher_stage (seq integer, pin_hash bytea) ON COMMIT DROP"
_MOVE = """
WITH moved AS (
    INSERT INTO vouchers (batch_id, seq, biller_id, pin_hash, state, state_at)
    SELECT $1, seq, $2, pin_hash, 'ISSUED', $3 FROM voucher_stage
    ON CONFLICT (biller_id, pin_hash) DO NOTHING
    RETURNING seq)
SELECT s.seq FROM voucher_stage s WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.seq = s.seq)
"""


@dataclass(frozen=True, slots=True)
class IssueOrder:
    biller: str
    count: int
    face: int  # fen
    expires_on: date


@dataclass(frozen=True, slots=True)
class IssuedBatch:
    id: int
    biller: str
    count: int
    face: int
    expires_on: date


def _check(order: IssueOrder, today: date) -> None:
    if not 1 <= order.count <= MAX_COUNT:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"count must be 1 to {MAX_COUNT}")
    if order.face <= 0:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "face value must be positive fen")
    if order.expires_on < today:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"expiry {order.expires_on} is past")


async def issue_batch(
    conn: AsyncConnection,
    clock: Clock,
    order: IssueOrder,
    *,
    sink: Sink,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> IssuedBatch:
    """Issue ``order``'s vouchers (state ISSUED), their serials and PINs to ``sink``."""
    _check(order, business_date(clock.now()))
    biller = await billers_service.hosted_biller(conn, order.biller, "vouchers")
    owner = Owner(biller.id, biller.code)
    for kind in (AccountKind.VOUCHER_LIABILITY, AccountKind.VOUCHER_CREDIT):
        await find_or_open(conn, clock, kind, owner)
    key = await biller_key(conn, clock, biller.id)
    new_batch = insert(voucher_batches).values(
        biller_id=biller.id, face=order.face, count=order.count, expires_on=order.expires_on,
        issued_at=clock.now(), issued_by=actor,
    )  # fmt: skip
    batch_id = int((await conn.execute(new_batch.returning(voucher_batches.c.id))).scalar_one())
    raw = await raw_connection(conn)
    await raw.execute(_STAGE)
    for start in range(1, order.count + 1, CHUNK):
        seqs = range(start, min(start + CHUNK, order.count + 1))
        pins = {seq: new_pin() for seq in seqs}
        redraw = list(seqs)
        while redraw:
            await raw.execute("TRUNCATE voucher_stage")
            await raw.copy_records_to_table(
                "voucher_stage", records=[(seq, pin_hash(key, pins[seq])) for seq in redraw]
            )
            redraw = [r["seq"] for r in await raw.fetch(_MOVE, batch_id, biller.id, clock.now())]
            pins.update({seq: new_pin() for seq in redraw})
        sink([(serial(batch_id, seq), pins[seq]) for seq in seqs])
        if progress:
            progress(len(seqs))
    await raw.execute("DROP TABLE voucher_stage")
    await audit.record(
        conn, clock, actor=actor, action="vouchers.issue", object_type="voucher_batch",
        object_id=str(batch_id),
        details={"biller": biller.code, "count": order.count, "face": order.face,
                 "expires_on": order.expires_on.isoformat()},
    )  # fmt: skip
    return IssuedBatch(batch_id, biller.code, order.count, order.face, order.expires_on)

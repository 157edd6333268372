"""Four eyes: a sensitive change is asked for by one person and applied only when a
second approves it.

The rule is in the database too (``staff_approvals_four_eyes``): even a bug above
cannot record an approval by the person who asked. Whoever decides applies the change in
the same transaction as the decision, so an approved change is applied exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.tables import staff_approvals, staff_users


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    kind: str
    biller_id: int | None
    subject: str
    payload: dict[str, object]
    reason: str
    requested_by: str
    requested_at: datetime
    status: ApprovalStatus
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, row: RowMapping) -> Approval:
        return cls(
            id=row["id"],
            kind=row["kind"],
            biller_id=row["biller_id"],
            subject=row["subject"],
            payload=row["payload"],
            reason=row["reason"],
            requested_by=row["requester"],
            requested_at=row["requested_at"],
            status=ApprovalStatus(row["status"]),
            decided_by=row["decider"],
            decided_at=row["decided_at"],
        )


_REQUESTER, _DECIDER = staff_users.alias("requester"), staff_users.alias("decider")
# an approval with the names of who asked and who decided
_SELECT = (
    select(
        staff_approvals,
        _REQUESTER.c.username.label("requester"),
        _DECIDER.c.username.label("decider"),
    )
    .join(_REQUESTER, _REQUESTER.c.id == staff_approvals.c.requested_by)
    .outerjoin(_DECIDER, _DECIDER.c.id == staff_approvals.c.decided_by)
)


async def ask(
    conn: AsyncConnection,
    clock: Clock,
    *,
    kind: str,
    biller_id: int | None,
    subject: str,
    payload: dict[str, object],
    reason: str,
    requester_id: int,
    requester: str,
) -> int:
    if not reason.strip():
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "a change that needs approval needs a reason"
        )
    approval_id: int = (
        await conn.execute(
            insert(staff_approvals)
            .values(
                kind=kind,
                biller_id=biller_id,
                subject=subject,
                payload=payload,
                reason=reason.strip(),
                requested_by=requester_id,
                requested_at=clock.now(),
                status=ApprovalStatus.PENDING,
            )
            .returning(staff_approvals.c.id)
        )
    ).scalar_one()
    await audit.record(
        conn,
        clock,
        actor=requester,
        action=f"{kind}.ask",
        object_type="approval",
        object_id=str(approval_id),
        reason=reason,
        after={"subject": subject, **payload},
    )
    return approval_id


async def decide(
    conn: AsyncConnection,
    clock: Clock,
    approval_id: int,
    *,
    approve: bool,
    decider_id: int,
    decider: str,
    note: str = "",
) -> Approval:
    """Approve or reject a pending change (the asker may only withdraw it); the caller
    applies an approved one in this transaction."""
    current = await find(conn, approval_id, lock=True)
    if current.status is not ApprovalStatus.PENDING:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"approval {approval_id} was already {current.status.lower()}",
        )
    own = current.requested_by == decider
    if own and approve:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "a change is approved by a second person, not by whoever asked for it",
        )
    status = (
        ApprovalStatus.APPROVED
        if approve
        else ApprovalStatus.WITHDRAWN
        if own
        else ApprovalStatus.REJECTED
    )
    await conn.execute(
        update(staff_approvals)
        .where(staff_approvals.c.id == approval_id)
        .values(status=status, decided_by=decider_id, decided_at=clock.now(), decision_note=note)
    )
    await audit.record(
        conn,
        clock,
        actor=decider,
        action=f"{current.kind}.{status.lower()}",
        object_type="approval",
        object_id=str(approval_id),
        reason=note,
        before={"status": current.status},
        after={"status": status},
    )
    return await find(conn, approval_id)


async def find(conn: AsyncConnection, approval_id: int, *, lock: bool = False) -> Approval:
    query = _SELECT.where(staff_approvals.c.id == approval_id)
    if lock:
        query = query.with_for_update(of=staff_approvals)
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no approval {approval_id}")
    return Approval.of(row)


async def pending(
    conn: AsyncConnection, kind: str, billers: frozenset[int] | None
) -> list[Approval]:
    a = staff_approvals.c
    query = _SELECT.where(a.kind == kind, a.status == ApprovalStatus.PENDING)
    if billers is not None:
        query = query.where(a.biller_id.in_(billers))
    return [Approval.of(r) for r in (await conn.execute(query.order_by(a.id))).mappings()]

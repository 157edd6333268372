"""Changing the bank account a utility is paid to, with four eyes.

A payout to the wrong account is money gone, so one person asks for the change (with a
reason) and a second approves it (``staff.approvals``; the database refuses an approval
by the asker). The change is applied in the transaction of the approval, exactly once,
and audited with the account before and after.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.settlement import config
from utilipay.settlement import repository as repo
from utilipay.staff import approvals
from utilipay.staff.approvals import Approval, ApprovalStatus

KIND = "payout_account.change"


async def ask(
    conn: AsyncConnection,
    clock: Clock,
    biller: str,
    *,
    account_no: str,
    account_name: str,
    bank: str,
    reason: str,
    requester_id: int,
    requester: str,
) -> int:
    """A pending change of ``biller``'s payout account; its approval's id."""
    config.check_account(account_no, account_name, bank)
    biller_id = await config.biller_id_of(conn, biller)
    if biller_id not in await repo.pay_to(conn):
        raise DomainError(
            ErrorCode.NOT_FOUND, f"{biller} has no settlement account yet: set it first"
        )
    payload: dict[str, object] = {
        "account_no": account_no, "account_name": account_name.strip(), "bank": bank.strip(),
    }  # fmt: skip
    return await approvals.ask(
        conn, clock, kind=KIND, biller_id=biller_id, subject=biller, payload=payload,
        reason=reason, requester_id=requester_id, requester=requester,
    )  # fmt: skip


async def pending(conn: AsyncConnection, billers: frozenset[int] | None) -> list[Approval]:
    return await approvals.pending(conn, KIND, billers)


async def find(conn: AsyncConnection, approval_id: int) -> Approval:
    found = await approvals.find(conn, approval_id)
    if found.kind != KIND:
        raise DomainError(ErrorCode.NOT_FOUND, f"no payout account change {approval_id}")
    return found


async def decide(
    conn: AsyncConnection,
    clock: Clock,
    approval_id: int,
    *,
    approve: bool,
    decider_id: int,
    decider: str,
) -> Approval:
    """Approve (a second person), reject, or withdraw (the asker) a change; an approved
    change is applied here, in the decision's transaction."""
    await find(conn, approval_id)
    decided = await approvals.decide(
        conn, clock, approval_id, approve=approve, decider_id=decider_id, decider=decider
    )
    if decided.status is ApprovalStatus.APPROVED:
        await _apply(conn, clock, decided)
    return decided


async def _apply(conn: AsyncConnection, clock: Clock, approved: Approval) -> None:
    biller_id = await config.biller_id_of(conn, approved.subject)
    before = (await repo.pay_to(conn))[biller_id]
    after = {key: str(approved.payload[key]) for key in ("account_no", "account_name", "bank")}
    values: dict[str, object] = {
        **after, "mode": before.mode, "actor": approved.decided_by, "updated_at": clock.now(),
    }  # fmt: skip
    await config.store_account(conn, biller_id, values)
    await audit.record(
        conn, clock, actor=str(approved.decided_by), action="settlement.account_change",
        object_type="biller", object_id=approved.subject, reason=approved.reason,
        before={k: v for k, v in asdict(before).items() if k != "mode"}, after=after,
        details={"approval": approved.id, "asked_by": approved.requested_by},
    )  # fmt: skip

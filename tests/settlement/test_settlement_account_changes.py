"""A payout account changes with four eyes: asked with a reason, applied only when a second
person approves, in the approval's transaction, audited with before and after."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.staff.test_staff import add
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError, ErrorCode
from utilipay.settlement import account_changes, config
from utilipay.settlement import repository as repo
from utilipay.staff import approvals
from utilipay.staff.approvals import ApprovalStatus

NEW = {"account_no": "6222000011112222", "account_name": "北京自来水集团", "bank": "建设银行"}


async def paid_to(conn: AsyncConnection, biller_id: int) -> str:
    return (await repo.pay_to(conn))[biller_id].account_no


@pytest.fixture
async def asked(conn: AsyncConnection, clock: FrozenClock, world: dict[str, object]) -> int:
    await config.set_account(conn, clock, "BJWATER", account_no="6222000000000001",
                             account_name="北京自来水", bank="工商银行", actor="test")  # fmt: skip
    asker = await add(conn, clock, "ops-a")
    return await account_changes.ask(
        conn, clock, "BJWATER", **NEW, reason="moved banks", requester_id=asker.id,
        requester="ops-a",
    )  # fmt: skip


async def test_the_asker_cannot_approve_and_a_second_person_applies_it(
    conn: AsyncConnection, clock: FrozenClock, asked: int
) -> None:
    water = (await account_changes.find(conn, asked)).biller_id
    assert water is not None
    asker = (await conn.execute(text("SELECT id FROM staff_users WHERE username = 'ops-a'"))).one()
    with pytest.raises(DomainError) as refused:
        await account_changes.decide(
            conn, clock, asked, approve=True, decider_id=asker.id, decider="ops-a"
        )
    assert refused.value.code is ErrorCode.FORBIDDEN
    assert await paid_to(conn, water) == "6222000000000001"
    nested = await conn.begin_nested()  # nor can anything below the service
    with pytest.raises(IntegrityError, match="staff_approvals_four_eyes"):
        await conn.execute(
            text("UPDATE staff_approvals SET status = 'APPROVED', decided_by = requested_by,"
                 " decided_at = now() WHERE id = :id"), {"id": asked},
        )  # fmt: skip
    await nested.rollback()

    other = await add(conn, clock, "ops-b")
    decided = await account_changes.decide(
        conn, clock, asked, approve=True, decider_id=other.id, decider="ops-b"
    )
    assert decided.status is ApprovalStatus.APPROVED
    assert await paid_to(conn, water) == NEW["account_no"]
    assert await account_changes.pending(conn, None) == []
    audited = (
        await conn.execute(
            text("SELECT actor, reason, before, after FROM audit_log"
                 " WHERE action = 'settlement.account_change'")
        )
    ).one()  # fmt: skip
    assert (audited.actor, audited.reason, audited.after) == ("ops-b", "moved banks", NEW)
    assert audited.before == {"account_no": "6222000000000001", "account_name": "北京自来水",
                              "bank": "工商银行"}  # fmt: skip


async def test_a_rejected_or_withdrawn_change_changes_nothing(
    conn: AsyncConnection, clock: FrozenClock, asked: int
) -> None:
    water = (await account_changes.find(conn, asked)).biller_id
    assert water is not None
    other = await add(conn, clock, "ops-b")
    rejected = await account_changes.decide(
        conn, clock, asked, approve=False, decider_id=other.id, decider="ops-b"
    )
    assert rejected.status is ApprovalStatus.REJECTED
    assert await paid_to(conn, water) == "6222000000000001"


async def test_a_change_needs_a_reason_a_valid_account_and_an_account_to_change(
    conn: AsyncConnection, clock: FrozenClock, world: dict[str, object]
) -> None:
    asker = await add(conn, clock, "ops-a")

    async def ask(biller: str = "BJWATER", account: str = NEW["account_no"], why: str = "r") -> int:
        return await account_changes.ask(
            conn, clock, biller, account_no=account, account_name=NEW["account_name"],
            bank=NEW["bank"], reason=why, requester_id=asker.id, requester="ops-a",
        )  # fmt: skip

    with pytest.raises(DomainError, match="no settlement account yet"):
        await ask()
    await config.set_account(conn, clock, "BJWATER", account_no="6222000000000001",
                             account_name="北京自来水", bank="工商银行", actor="test")  # fmt: skip
    with pytest.raises(DomainError, match="must be 6-34 characters"):
        await ask(account="1")
    with pytest.raises(DomainError, match="needs a reason"):
        await ask(why=" ")
    with pytest.raises(DomainError, match="no biller NOPE"):
        await ask(biller="NOPE")
    assert await account_changes.pending(conn, None) == []


async def test_another_kind_of_approval_is_not_a_payout_account_change(
    conn: AsyncConnection, clock: FrozenClock, world: dict[str, object]
) -> None:
    asker = await add(conn, clock, "ops-a")
    other = await approvals.ask(
        conn, clock, kind="something.else", biller_id=None, subject="x", payload={},
        reason="r", requester_id=asker.id, requester="ops-a",
    )  # fmt: skip
    with pytest.raises(DomainError) as missing:
        await account_changes.find(conn, other)
    assert missing.value.code is ErrorCode.NOT_FOUND

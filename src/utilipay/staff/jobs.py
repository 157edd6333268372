"""Long work a person started in the console, and how far it got.

The page that started the work shows this row and polls it; the work records its
progress in short transactions of its own. A job whose process died leaves a RUNNING row
whose heartbeat stops: after ``STALE`` it is shown as interrupted, not as running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff.tables import staff_jobs, staff_users

STALE = timedelta(minutes=2)


class JobStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    biller_id: int | None
    title: str
    started_by: str
    started_at: datetime
    status: JobStatus
    done: int
    total: int | None
    outcome: str
    result: dict[str, object] | None
    heartbeat_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: RowMapping) -> Job:
        return cls(
            id=row["id"],
            kind=row["kind"],
            biller_id=row["biller_id"],
            title=row["title"],
            started_by=row["username"],
            started_at=row["started_at"],
            status=JobStatus(row["status"]),
            done=row["done"],
            total=row["total"],
            outcome=row["outcome"],
            result=row["result"],
            heartbeat_at=row["heartbeat_at"],
            finished_at=row["finished_at"],
        )

    def interrupted(self, now: datetime) -> bool:
        return self.status is JobStatus.RUNNING and now - self.heartbeat_at > STALE

    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)


_SELECT = select(staff_jobs, staff_users.c.username).join(
    staff_users, staff_users.c.id == staff_jobs.c.started_by
)


async def start(
    conn: AsyncConnection,
    clock: Clock,
    *,
    kind: str,
    biller_id: int | None,
    title: str,
    started_by: int,
) -> int:
    now = clock.now()
    job_id: int = (
        await conn.execute(
            insert(staff_jobs)
            .values(
                kind=kind,
                biller_id=biller_id,
                title=title,
                started_by=started_by,
                started_at=now,
                status=JobStatus.RUNNING,
                done=0,
                outcome="",
                heartbeat_at=now,
            )
            .returning(staff_jobs.c.id)
        )
    ).scalar_one()
    return job_id


async def progress(
    conn: AsyncConnection, clock: Clock, job_id: int, done: int, total: int | None
) -> None:
    await conn.execute(
        update(staff_jobs)
        .where(staff_jobs.c.id == job_id, staff_jobs.c.status == JobStatus.RUNNING)
        .values(done=done, total=total, heartbeat_at=clock.now())
    )


async def finish(
    conn: AsyncConnection,
    clock: Clock,
    job_id: int,
    *,
    succeeded: bool,
    outcome: str,
    result: dict[str, object] | None = None,
) -> None:
    now = clock.now()
    await conn.execute(
        update(staff_jobs)
        .where(staff_jobs.c.id == job_id, staff_jobs.c.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.SUCCEEDED if succeeded else JobStatus.FAILED,
            outcome=outcome,
            result=result,
            heartbeat_at=now,
            finished_at=now,
        )
    )


async def find(conn: AsyncConnection, job_id: int) -> Job:
    row = (await conn.execute(_SELECT.where(staff_jobs.c.id == job_id))).mappings().one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no job {job_id}")
    return Job.of(row)


async def recent(
    conn: AsyncConnection, kinds: tuple[str, ...], billers: frozenset[int] | None, limit: int = 20
) -> list[Job]:
    """The latest jobs of these kinds that the person may see (``billers`` None: all)."""
    query = _SELECT.where(staff_jobs.c.kind.in_(kinds))
    if billers is not None:
        query = query.where(staff_jobs.c.biller_id.in_(billers))
    query = query.order_by(staff_jobs.c.started_at.desc(), staff_jobs.c.id.desc()).limit(limit)
    return [Job.of(r) for r in (await conn.execute(query)).mappings()]

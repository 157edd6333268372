"""The stored monthly analyses: made by the worker on the first working day of the
following month (mainland calendar, ``calendar.working``), once per utility and month
however many workers run the pass, and on demand by a person (console, CLI), which
replaces the stored one and is audited.

How the documents are made is given to these functions (``MakeDocuments``): the figures'
gathering and rendering are ``collection/analysis.py``'s, the schedule and keeping are here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.audit import service as audit
from utilipay.billers import repository as billers
from utilipay.calendar.working import next_working
from utilipay.clock import Clock, business_date
from utilipay.collection import xlsx
from utilipay.collection.analysis import (
    analysis_pdf,
    analysis_xlsx,
    monthly_analysis,
    previous_month,
)
from utilipay.collection.phrases import Translate
from utilipay.collection.tables import collection_analyses as t

WORKER = "worker"
Kind = Literal["pdf", "xlsx"]
MEDIA_TYPES: dict[Kind, str] = {
    "pdf": "application/pdf",
    "xlsx": xlsx.MEDIA_TYPE,
}


@dataclass(frozen=True, slots=True)
class Documents:
    pdf: bytes
    xlsx: bytes


MakeDocuments = Callable[[AsyncConnection, Clock, int, date], Awaitable[Documents]]


def documents_maker(translate: Translate) -> MakeDocuments:
    """Gather a utility's month and render it, in the words of ``translate``."""

    async def make(conn: AsyncConnection, clock: Clock, biller_id: int, month: date) -> Documents:
        analysis = await monthly_analysis(conn, clock, biller_id, month)
        return Documents(analysis_pdf(analysis, translate), analysis_xlsx(analysis))

    return make


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    biller_id: int
    month: date
    made_at: datetime
    made_by: str
    pdf_bytes: int
    xlsx_bytes: int


def due_month(today: date) -> date | None:
    """The month whose analysis is due on ``today``: the one before, from this month's
    first working day on (a worker down that day makes it the next)."""
    return previous_month(today) if today >= next_working(today.replace(day=1)) else None


async def _claimed(conn: AsyncConnection, biller_id: int, month: date) -> bool:
    """This transaction alone makes the utility's month: another pass holding it, or a
    row already made, and it is not ours to make."""
    key = f"collection analysis {biller_id} {month}"
    locked = await conn.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )
    if not locked:
        return False
    made = await conn.scalar(
        select(t.c.biller_id).where(t.c.biller_id == biller_id, t.c.month == month)
    )
    return made is None


async def _missing(conn: AsyncConnection, month: date) -> list[int]:
    made = set((await conn.execute(select(t.c.biller_id).where(t.c.month == month))).scalars())
    return [b.id for b in await billers.all_billers(conn) if b.id not in made]


async def make_due_analyses(engine: AsyncEngine, clock: Clock, make: MakeDocuments) -> int:
    """The worker's pass: each utility's analysis of the month due, once; how many made.
    One short transaction per utility, so one utility's failure stops no other's."""
    month = due_month(business_date(clock.now()))
    if month is None:
        return 0
    async with engine.connect() as conn:
        waiting = await _missing(conn, month)
    made = 0
    for biller_id in waiting:
        async with engine.begin() as conn:
            if not await _claimed(conn, biller_id, month):
                continue
            documents = await make(conn, clock, biller_id, month)
            await _store(conn, clock, biller_id, month, documents, WORKER)
            made += 1
    return made


async def make_now(
    conn: AsyncConnection,
    clock: Clock,
    biller_id: int,
    month: date,
    make: MakeDocuments,
    *,
    actor: str,
) -> Documents:
    """On demand: make the month again (it may have changed since) and keep it, audited."""
    documents = await make(conn, clock, biller_id, month)
    await _store(conn, clock, biller_id, month, documents, actor)
    await audit.record(
        conn,
        clock,
        actor=actor,
        action="collection.analysis_made",
        object_type="biller",
        object_id=str(biller_id),
        details={"month": f"{month:%Y-%m}"},
    )
    return documents


async def _store(
    conn: AsyncConnection,
    clock: Clock,
    biller_id: int,
    month: date,
    documents: Documents,
    made_by: str,
) -> None:
    values = {"pdf": documents.pdf, "xlsx": documents.xlsx, "made_at": clock.now()}
    statement = insert(t).values(biller_id=biller_id, month=month, made_by=made_by, **values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[t.c.biller_id, t.c.month], set_={**values, "made_by": made_by}
        )
    )


async def stored(
    conn: AsyncConnection, seen: Collection[int] | None, limit: int = 60
) -> list[StoredAnalysis]:
    """The newest analyses of the utilities ``seen`` (None: every one)."""
    query = select(
        t.c.biller_id,
        t.c.month,
        t.c.made_at,
        t.c.made_by,
        func.length(t.c.pdf).label("pdf_bytes"),
        func.length(t.c.xlsx).label("xlsx_bytes"),
    )
    if seen is not None:
        query = query.where(t.c.biller_id.in_(list(seen)))
    query = query.order_by(t.c.month.desc(), t.c.biller_id).limit(limit)
    return [StoredAnalysis(**row._mapping) for row in await conn.execute(query)]


async def document(conn: AsyncConnection, biller_id: int, month: date, kind: Kind) -> bytes | None:
    column = t.c.pdf if kind == "pdf" else t.c.xlsx
    found: bytes | None = await conn.scalar(
        select(column).where(t.c.biller_id == biller_id, t.c.month == month)
    )
    return found

"""Finding payments for people (the console): by order id, receipt number, account, payer,
channel, utility, status or business dates, newest first, a page at a time. A channel's
payer history (``history.py``, channel-api.md §13) is such a search too.

Each filter reads an index that leads with it and ends with (created_at, id) (migration
0027), the order of a page and the position its cursor holds: a page of a million
payments reads its own rows. Utility staff see their utilities' only (``billers``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, RowMapping, Select, column, select, table, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.clock import day_bounds
from utilipay.common.keyset import cursor_of, position_of
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments.schemas import PaymentStatus
from utilipay.payments.tables import payments

MAX_PAGE = 200
# the directories other areas publish (migration 0024): a code for each id
_billers = table("billers_directory", column("id"), column("code"))
_channels = table("channels_directory", column("id"), column("code"))


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    order_id: str | None = None
    receipt_no: str | None = None
    account_no: str | None = None
    payer: str | None = None
    channel_id: int | None = None
    biller_id: int | None = None
    status: PaymentStatus | None = None
    since: date | None = None  # business dates (Asia/Shanghai), both days included
    until: date | None = None
    billers: Collection[int] | None = None  # the scope of who asks; None: every utility


@dataclass(frozen=True, slots=True)
class Found:
    """A payment as a list of them shows it."""

    id: str
    order_id: str
    receipt_no: str | None
    biller: str
    channel: str
    account_no: str
    payer: str
    amount: int
    status: PaymentStatus
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Page:
    payments: list[Found]
    next_cursor: str | None  # None: this was the last page


def _wanted(wanted: PaymentFilter) -> list[ColumnElement[bool]]:
    c = payments.c
    equal = ((c.order_id, wanted.order_id), (c.receipt_no, wanted.receipt_no),
             (c.account_no, wanted.account_no), (c.payer, wanted.payer),
             (c.channel_id, wanted.channel_id), (c.biller_id, wanted.biller_id),
             (c.status, wanted.status))  # fmt: skip
    conditions = [col == value for col, value in equal if value is not None]
    if wanted.since is not None:
        conditions.append(c.created_at >= day_bounds(wanted.since)[0])
    if wanted.until is not None:
        conditions.append(c.created_at < day_bounds(wanted.until)[1])
    if wanted.billers is not None:
        conditions.append(c.biller_id.in_(sorted(wanted.billers)))
    return conditions


def page_query(wanted: PaymentFilter, cursor: str | None, limit: int) -> Select[tuple[object, ...]]:
    """The payments matching ``wanted`` after ``cursor``, newest first: ``limit`` and one
    more, which says whether another page follows."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"limit must be 1 to {MAX_PAGE}")
    c = payments.c
    matching = select(payments).where(*_wanted(wanted))
    if cursor is not None:
        matching = matching.where(tuple_(c.created_at, c.id) < tuple_(*position_of(cursor, str)))
    found = matching.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1).subquery()
    return (
        select(found, _billers.c.code.label("biller"), _channels.c.code.label("channel"))
        .join(_billers, _billers.c.id == found.c.biller_id)
        .join(_channels, _channels.c.id == found.c.channel_id)
        .order_by(found.c.created_at.desc(), found.c.id.desc())
    )


def _found(m: RowMapping) -> Found:
    return Found(
        m["id"], m["order_id"], m["receipt_no"], m["biller"], m["channel"], m["account_no"],
        m["payer"], m["amount"], PaymentStatus(m["status"]), m["created_at"], m["finished_at"],
    )  # fmt: skip


async def matching_rows(
    conn: AsyncConnection, wanted: PaymentFilter, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """Up to ``limit`` rows of payments matching ``wanted`` (every column of ``payments``,
    with ``biller`` and ``channel`` codes), newest first, after ``cursor``; and the cursor
    of the next page, None on the last."""
    rows = [r._mapping for r in await conn.execute(page_query(wanted, cursor, limit))]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], cursor_of(last["created_at"], last["id"])


async def search(
    conn: AsyncConnection, wanted: PaymentFilter, *, cursor: str | None = None, limit: int = 50
) -> Page:
    """Up to ``limit`` payments matching ``wanted``, newest first, after ``cursor``."""
    rows, next_cursor = await matching_rows(conn, wanted, cursor, limit)
    return Page([_found(m) for m in rows], next_cursor)

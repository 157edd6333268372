"""Reading the audit log: newest first, filtered by actor, object or time, a page at a time.

A page ends with a cursor, the position (time, id) of its last entry, so the next page
starts right after it however many entries arrive meanwhile. Each filter has an index
that leads with it and ends with (at, id) (migration 0019): a page reads its own rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.tables import audit_log
from utilipay.clock import to_shanghai_iso
from utilipay.common.keyset import cursor_of, position_of
from utilipay.common.validation import parse_instant
from utilipay.errors import DomainError, ErrorCode

MAX_PAGE = 500
DATE_LENGTH = len("2026-11-22")  # parse_instant reads this many characters as a date


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # entries at or after it
    until: datetime | None = None  # and before it


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[dict[str, Any]]
    next_cursor: str | None  # None: this was the last page


def _bad(detail: str) -> DomainError:
    return DomainError(ErrorCode.MALFORMED_REQUEST, detail)


def audit_filter(
    actor: str | None, object_ref: str | None, since: str | None, until: str | None = None
) -> AuditFilter:
    """The filter a person writes: ``object_ref`` is TYPE or TYPE:ID, ``since`` a date (from
    00:00 in Shanghai) or an instant, ``until`` a date (that whole day included) or an
    instant (excluded)."""
    kind, object_id = parse_object(object_ref) if object_ref is not None else (None, None)
    start = parse_instant("since", since) if since else None
    end = parse_instant("until", until) if until else None
    if end is not None and until is not None and len(until) == DATE_LENGTH:
        end += timedelta(days=1)
    return AuditFilter(actor, kind, object_id, start, end)


def parse_object(text: str) -> tuple[str, str | None]:
    """``TYPE`` or ``TYPE:ID`` (an id may itself hold colons)."""
    kind, colon, object_id = text.partition(":")
    if not kind or (colon and not object_id):
        raise _bad(f"object {text!r} must be TYPE or TYPE:ID, e.g. biller:BJWATER")
    return kind, object_id if colon else None


def _entry(m: Any) -> dict[str, Any]:
    return {
        "id": m["id"],
        "at": to_shanghai_iso(m["at"]),
        "actor": m["actor"],
        "action": m["action"],
        "object": {"type": m["object_type"], "id": m["object_id"]},
        "reason": m["reason"],
        "details": m["details"],
        "before": m["before"],
        "after": m["after"],
    }


def page_query(wanted: AuditFilter, cursor: str | None, limit: int) -> Select[Any]:
    """The entries matching ``wanted`` after ``cursor``, newest first: ``limit`` and one more,
    which says whether another page follows."""
    if not 1 <= limit <= MAX_PAGE:
        raise _bad(f"limit must be between 1 and {MAX_PAGE}")
    c = audit_log.c
    query = select(audit_log).order_by(c.at.desc(), c.id.desc()).limit(limit + 1)
    for column, value in ((c.actor, wanted.actor), (c.object_type, wanted.object_type),
                          (c.object_id, wanted.object_id)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(c.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(c.at < wanted.until)
    if cursor is not None:
        query = query.where(tuple_(c.at, c.id) < tuple_(*position_of(cursor, int)))
    return query


async def entries(
    conn: AsyncConnection, wanted: AuditFilter, *, cursor: str | None = None, limit: int = 50
) -> Page:
    """Up to ``limit`` entries matching ``wanted``, newest first, after ``cursor``."""
    rows = [r._mapping for r in await conn.execute(page_query(wanted, cursor, limit))]
    if len(rows) <= limit:
        return Page([_entry(m) for m in rows], None)
    last = rows[limit - 1]
    return Page([_entry(m) for m in rows[:limit]], cursor_of(last["at"], last["id"]))

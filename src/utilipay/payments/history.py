"""A payer's payment history at one channel (channel-api.md §13): ``GET /v1/payments?payer=…``.

The channel's own payments of the payer, of every status (PROCESSING, SUCCEEDED, FAILED,
VOID_PENDING, VOIDED) and purpose, newest first, 50 a page, each the same object as
``GET /v1/payments/{id}``. Another channel's payments of a payer with the same id are not
this channel's payer's and never appear.

Business dates bound the list, both included (Asia/Shanghai): ``to`` defaults to today,
``from`` to 365 days before ``to``; a span is at most 366 days, so a page's range scan
(migration 0046's index) stays within a year of one payer's rows. The cursor is the
position (created_at, id) of the last payment shown (``common/keyset.py``): a payment made
while the payer pages is newer than every position and never shifts an older one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers.schemas import CodeOfBiller
from utilipay.errors import DomainError, ErrorCode
from utilipay.payments.schemas import Payment, StoredPayment
from utilipay.payments.search import PaymentFilter, matching_rows

PAGE = 50
MAX_DAYS = 366  # of a span, both ends included


@dataclass(frozen=True, slots=True)
class Span:
    """Business dates, both included."""

    first: date
    last: date


@dataclass(frozen=True, slots=True)
class HistoryPage:
    payments: list[Payment]
    next_cursor: str | None  # None: this was the last page


def span_of(first: date | None, last: date | None, today: date) -> Span:
    """The dates asked for, the defaults filled in; a span the list does not serve is a 400
    that says why."""
    last = today if last is None else last
    first = last - timedelta(days=MAX_DAYS - 1) if first is None else first  # the longest
    if first > last:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"from {first} is after to {last}")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"from {first} to {last} is {days} days; at most {MAX_DAYS} (both included)",
        )
    return Span(first, last)


def wanted(channel_id: int, payer: str, span: Span) -> PaymentFilter:
    """The search a page of the history is (its plan reads migration 0046's index)."""
    return PaymentFilter(payer=payer, channel_id=channel_id, since=span.first, until=span.last)


async def payer_history(
    conn: AsyncConnection,
    channel_id: int,
    biller_code: CodeOfBiller,
    payer: str,
    span: Span,
    cursor: str | None = None,
) -> HistoryPage:
    """A page of the channel's payments of ``payer`` within ``span``, after ``cursor``."""
    rows, next_cursor = await matching_rows(conn, wanted(channel_id, payer, span), cursor, PAGE)
    shown = [StoredPayment.of(row).for_channel(biller_code) for row in rows]
    return HistoryPage(shown, next_cursor)

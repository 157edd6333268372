"""What a batch of debit steps changes, written in a few statements for the whole batch.

The rules of a step (``autopay/send.py``) say what changes — a debit's columns, an
attempt in its log, an outbox event — and ``Writes`` gathers it; ``flush`` then writes
each kind for the batch in one set-based statement (``common/columns.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay.schemas import Debit
from utilipay.autopay.tables import debit_attempts, debits
from utilipay.common.columns import Columns, insert_rows, update_rows

# After the debits' own rows are updated: an event carries its debit's final status and
# reason. In the order the rules announced them (the outbox's ids say the order).
_ANNOUNCE = text(
    """
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT d.biller_id, e.event_type, d.id, debit_event(d) || CAST(e.extra AS jsonb), e.at
      FROM unnest(CAST(:b AS integer[]), CAST(:d AS text[]), CAST(:event_type AS text[]),
                  CAST(:extra AS text[]), CAST(:at AS timestamptz[]))
           WITH ORDINALITY AS e (biller_id, debit_id, event_type, extra, at, n)
      JOIN debits d ON d.biller_id = e.biller_id AND d.id = e.debit_id
     ORDER BY e.n
    """
)


@dataclass
class Writes:
    """One batch's changes, each debit's merged in the order its rules made them."""

    changes: dict[tuple[int, str], dict[str, object]] = field(default_factory=dict)
    attempts: Columns = field(default_factory=Columns)
    events: Columns = field(default_factory=Columns)

    def set(self, debit: Debit, **values: object) -> None:
        self.changes.setdefault((debit.biller_id, debit.id), {}).update(values)

    def log(
        self, debit: Debit, attempt: int, source: str, kind: str, result: str, now: datetime
    ) -> None:
        self.attempts.add(biller_id=debit.biller_id, debit_id=debit.id, attempt=attempt,
                          funding_source=source, kind=kind, result=result[:200],
                          at=now)  # fmt: skip

    def announce(
        self, debit: Debit, event_type: str, extra: Mapping[str, object], now: datetime
    ) -> None:
        self.events.add(b=debit.biller_id, d=debit.id, event_type=event_type,
                        extra=orjson.dumps(extra).decode(), at=now)  # fmt: skip

    async def flush(self, conn: AsyncConnection) -> None:
        for rows in _by_columns(self.changes).values():
            await update_rows(conn, debits, ("biller_id", "id"), rows)
        await insert_rows(conn, debit_attempts, self.attempts)
        if self.events:
            await conn.execute(_ANNOUNCE, self.events)
        self.changes, self.attempts, self.events = {}, Columns(), Columns()


def _by_columns(
    changes: dict[tuple[int, str], dict[str, object]],
) -> dict[tuple[str, ...], Columns]:
    """The changed rows grouped by which columns change: one UPDATE for each group (a batch
    has a few shapes — leased, written ahead, finished — however many debits it holds)."""
    groups: dict[tuple[str, ...], Columns] = {}
    for (biller_id, debit_id), values in changes.items():
        columns = tuple(sorted(values))
        groups.setdefault(columns, Columns()).add(biller_id=biller_id, id=debit_id, **values)
    return groups

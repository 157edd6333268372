"""What a batch of debit steps changes, written in a few statements for the whole batch.

The rules of a step (``autopay/send.py``) say what changes — a debit's columns, an
attempt in its log, an outbox event — and ``Writes`` gathers it; ``flush`` then writes
each kind for the batch in one set-based statement (``common/columns.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.autopay.schemas import Debit
from utilipay.common.columns import Columns

_ATTEMPTS = text(
    """
    INSERT INTO debit_attempts (biller_id, debit_id, attempt, funding_source, kind, result, at)
    SELECT * FROM unnest(CAST(:b AS integer[]), CAST(:d AS text[]), CAST(:attempt AS integer[]),
                         CAST(:source AS text[]), CAST(:kind AS text[]), CAST(:result AS text[]),
                         CAST(:at AS timestamptz[]))
    """
)
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
# The columns of ``debits`` a step changes, with their types (``tables.debits``).
_STEP_COLUMNS = {
    "status": "text", "reason": "text", "next_attempt_at": "timestamptz",
    "source_index": "integer", "rounds": "integer", "pending_source": "text",
    "channel_txn_id": "text", "payment_id": "text", "finished_at": "timestamptz",
}  # fmt: skip


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
        self.attempts.add(b=debit.biller_id, d=debit.id, attempt=attempt, source=source,
                          kind=kind, result=result[:200], at=now)  # fmt: skip

    def announce(
        self, debit: Debit, event_type: str, extra: Mapping[str, object], now: datetime
    ) -> None:
        self.events.add(b=debit.biller_id, d=debit.id, event_type=event_type,
                        extra=orjson.dumps(extra).decode(), at=now)  # fmt: skip

    async def flush(self, conn: AsyncConnection) -> None:
        for columns, rows in _by_columns(self.changes).items():
            await conn.execute(_update(columns), rows)
        if self.attempts:
            await conn.execute(_ATTEMPTS, self.attempts)
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
        groups.setdefault(columns, Columns()).add(
            _b=biller_id, _d=debit_id, **{f"v_{c}": values[c] for c in columns}
        )
    return groups


@cache
def _update(columns: tuple[str, ...]) -> TextClause:
    """``UPDATE debits … FROM unnest(…)`` setting ``columns`` (one statement per shape, made
    once a process). Each array is cast to its column's type, so a NULL needs no guess."""
    arrays = ", ".join(f"CAST(:v_{c} AS {_STEP_COLUMNS[c]}[])" for c in columns)
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    return text(
        f"UPDATE debits d SET {sets}"  # noqa: S608 (the names are debits' own columns)
        f"  FROM unnest(CAST(:_b AS integer[]), CAST(:_d AS text[]), {arrays})"
        f"       AS v (_b, _d, {', '.join(columns)})"
        " WHERE d.biller_id = v._b AND d.id = v._d"
    )

"""Warnings: one per episode of a rule firing for a subject, listed, acknowledged.

An episode opens the first time a rule fires for a subject and ends (``cleared_at``) at
the first pass that finds the condition gone (or the rule off); firing again opens a new
one. The partial unique index ``collection_warnings_one_open`` keeps one open episode
per rule and subject, so two passes at once make one warning: the second waits on the
first's row and inserts nothing. Each new warning writes a ``collection.warning`` event
in the same transaction, which the notifications send to the utility's contacts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.service import record
from utilipay.billers.schemas import Biller
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.outbox.service import Event, emit
from utilipay.warnings.kinds import Firing
from utilipay.warnings.rules import Rule, Visible, check_visible
from utilipay.warnings.tables import collection_warnings, warning_rules

EVENT = "collection.warning"
_OPEN = text(
    """
    INSERT INTO collection_warnings (biller_id, rule_id, subject, figures, opened_at)
    SELECT :biller_id, :rule_id, f.subject, f.figures, :now
      FROM jsonb_to_recordset(:firing) AS f(subject text, figures jsonb)
    ON CONFLICT (biller_id, rule_id, subject) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id, subject, figures
    """
).bindparams(bindparam("firing", type_=JSONB))
_CLEAR = text(
    """
    UPDATE collection_warnings SET cleared_at = :now
     WHERE biller_id = :biller_id AND rule_id = :rule_id AND cleared_at IS NULL
       AND NOT (subject = ANY (:firing))
    """
)


@dataclass(frozen=True, slots=True)
class Changed:
    opened: int
    cleared: int


@dataclass(frozen=True, slots=True)
class CollectionWarning:
    id: int
    biller_id: int
    rule_id: int
    kind: str
    subject: str
    figures: dict[str, object]
    opened_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None

    def summary(self, language: str = "en") -> str:
        said = self.figures.get("summary")
        return str(said.get(language, "")) if isinstance(said, dict) else ""

    def as_json(self) -> dict[str, object]:
        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "id": self.id, "biller_id": self.biller_id, "rule_id": self.rule_id,
            "kind": self.kind, "subject": self.subject, "figures": self.figures,
            "opened_at": iso(self.opened_at), "cleared_at": iso(self.cleared_at),
            "acknowledged_at": iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by, "note": self.note,
        }  # fmt: skip


async def record_firing(
    conn: AsyncConnection,
    now: datetime,
    biller: Biller,
    rule: Rule,
    firing: list[Firing],
    contacts: list[tuple[str, str]],
) -> Changed:
    """Open an episode for each subject newly firing, close those no longer firing."""
    rows = [
        {"subject": f.subject, "figures": {**f.figures, "summary": {"en": f.en, "zh-CN": f.zh}}}
        for f in firing
    ]
    key = {"biller_id": rule.biller_id, "rule_id": rule.id, "now": now}
    cleared = await conn.execute(_CLEAR, {**key, "firing": [f.subject for f in firing]})
    opened = list(await conn.execute(_OPEN, {**key, "firing": rows})) if rows else []
    events = [_event(now, biller, rule, r.id, r.subject, r.figures["summary"], contacts)
              for r in opened]  # fmt: skip
    await emit(conn, events)
    return Changed(len(opened), cleared.rowcount)


def _event(
    now: datetime, biller: Biller, rule: Rule, warning_id: int, subject: str,
    summary: dict[str, str], contacts: list[tuple[str, str]],
) -> Event:  # fmt: skip
    payload = {
        "warning_id": warning_id, "rule_id": rule.id, "kind": rule.kind,
        "biller": biller.code, "biller_name": biller.name,
        "account_no": subject,  # what the notification is filed under
        "summary_en": summary["en"], "summary_zh": summary["zh-CN"],
        "at": to_shanghai_iso(now),
        "contacts": [{"kind": kind, "address": address} for kind, address in contacts],
    }  # fmt: skip
    return Event(rule.biller_id, EVENT, str(warning_id), payload, now)


_LISTED = select(collection_warnings, warning_rules.c.kind).join(
    warning_rules,
    and_(
        warning_rules.c.biller_id == collection_warnings.c.biller_id,
        warning_rules.c.id == collection_warnings.c.rule_id,
    ),
)


async def list_warnings(
    conn: AsyncConnection, billers: Visible, *, unacknowledged: bool = False, limit: int = 200
) -> list[CollectionWarning]:
    """The latest first; ``unacknowledged``: only those nobody acknowledged yet."""
    newest = (collection_warnings.c.opened_at.desc(), collection_warnings.c.id.desc())
    query = _LISTED.order_by(*newest)
    if billers is not None:
        query = query.where(collection_warnings.c.biller_id.in_(billers))
    if unacknowledged:
        query = query.where(collection_warnings.c.acknowledged_at.is_(None))
    return [CollectionWarning(**r._mapping) for r in await conn.execute(query.limit(limit))]


async def opened_between(
    conn: AsyncConnection, billers: Collection[int], since: datetime, until: datetime
) -> list[CollectionWarning]:
    """The warnings opened in ``[since, until)`` for these utilities, oldest first: a
    month's warnings for the monthly collection analysis."""
    opened = collection_warnings.c.opened_at
    query = _LISTED.where(
        collection_warnings.c.biller_id.in_(list(billers)), opened >= since, opened < until
    ).order_by(opened, collection_warnings.c.id)
    return [CollectionWarning(**r._mapping) for r in await conn.execute(query)]


async def acknowledge(
    conn: AsyncConnection,
    clock: Clock,
    warning_id: int,
    note: str,
    *,
    actor: str,
    visible: Visible = None,
) -> CollectionWarning:
    """A person saw the warning and says what is done about it (the note is required)."""
    found = (
        await conn.execute(
            _LISTED.where(collection_warnings.c.id == warning_id).with_for_update(
                of=collection_warnings
            )
        )
    ).first()
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no warning {warning_id}")
    before = CollectionWarning(**found._mapping)
    check_visible(visible, before.biller_id, f"warning {warning_id}")
    note = note.strip()  # asked after the scope: another utility's warning is refused first
    if not note:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "say what is done about it: a note")
    if before.acknowledged_at is not None:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            f"warning {warning_id} was already acknowledged by {before.acknowledged_by} "
            f"at {to_shanghai_iso(before.acknowledged_at)}",
        )
    now = clock.now()
    await conn.execute(
        update(collection_warnings)
        .where(collection_warnings.c.biller_id == before.biller_id,
               collection_warnings.c.id == warning_id)
        .values(acknowledged_at=now, acknowledged_by=actor, note=note)
    )  # fmt: skip
    await record(
        conn, clock, actor=actor, action="warnings.acknowledged", object_type="warning",
        object_id=str(warning_id), reason=note,
        details={"biller_id": before.biller_id, "kind": before.kind, "subject": before.subject},
    )  # fmt: skip
    return replace(before, acknowledged_at=now, acknowledged_by=actor, note=note)

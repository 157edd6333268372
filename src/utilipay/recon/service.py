"""Reconciling a business day: read the three books, classify every record, propose corrections.

A run is one transaction of the caller's: the statements and payments it reads,
the run, its records and the proposed corrections it writes. The heavy lifting
happens in DuckDB (engine.py), which reads the books as PostgreSQL sends them
(pipe.py) in a temporary directory that goes with the run. Channels without a
statement for the day are not reconciled (the run names them and their
write-offs, as it names remote billers matched two ways for want of their
statement).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit import service as audit
from utilipay.clock import Clock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.recon import columnar, corrections, payments_file, pipe, repository
from utilipay.recon.carry import DEFAULT_CUTOFF, Window
from utilipay.recon.classify import Class
from utilipay.recon.columnar import NOT_KEPT, Kept
from utilipay.recon.engine import Matcher
from utilipay.recon.match_tables import recon_corrections, recon_items, recon_runs

Step = Callable[[str], None]
STEPS = (
    "reading the hub's payments",
    "reading the channels' statements",
    "reading the utilities' statements",
    "looking up orders of other days",
    "matching and classifying",
    "storing the records",
    "proposing corrections",
)


@dataclass(frozen=True, slots=True)
class RunReport:
    run: dict[str, Any]
    breaks: list[dict[str, Any]]
    corrections: list[dict[str, Any]]

    @property
    def id(self) -> int:
        return int(self.run["id"])

    def as_json(self) -> dict[str, Any]:
        return {
            "run": jsonable(self.run),
            "breaks": [jsonable(b) for b in self.breaks],
            "corrections": [jsonable(c) for c in self.corrections],
        }


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}  # plain str keys: column names are a str subclass orjson refuses
    for key, value in row.items():
        if isinstance(value, datetime):
            out[str(key)] = to_shanghai_iso(value)
        elif isinstance(value, date):
            out[str(key)] = value.isoformat()
        else:
            out[str(key)] = value
    return out


async def run_day(
    conn: AsyncConnection,
    clock: Clock,
    day: date,
    *,
    actor: str,
    channel: str | None = None,
    biller: str | None = None,
    cutoff: timedelta = DEFAULT_CUTOFF,
    step: Step | None = None,
    kept: Kept | None = None,
) -> RunReport:
    """Reconcile ``day`` (of one channel, or one biller and its branches, if named).

    The books are read from their kept files (``kept``, by default under the hub's home):
    each statement's from the file its import wrote (columnar.py), the payments from the
    day's file (payments_file.py), where the file can stand for the rows; the rest from
    PostgreSQL. ``kept=NOT_KEPT`` reads all from PostgreSQL (the benchmark's baseline)."""
    say = step or (lambda _: None)
    try:
        window = Window(day, cutoff)
    except ValueError as exc:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, str(exc)) from None
    await _known(conn, channel, biller)
    started = clock.now()
    found = await repository.sources(conn, window, channel, biller)
    if not found.channels:
        whose = f"channel {channel}'s" if channel else "any channel's"
        raise DomainError(
            ErrorCode.NOT_READY, f"no statement of {whose} for {day}: import it first"
        )
    with tempfile.TemporaryDirectory(prefix="utilipay-recon-") as tmp:
        work = Path(tmp)
        matcher = Matcher(window, work)
        try:
            counts = await _match(
                Reading(conn, found, matcher, work, kept or Kept.of_hub()),
                scoped=biller is not None,
                say=say,
            )
            say(STEPS[5])
            run_id = await _insert_run(
                conn, found, counts, actor=actor, started=started, finished=clock.now()
            )
            matcher.export_items(run_id, work / "items.csv")
            await repository.copy_items(conn, work / "items.csv")
        finally:
            matcher.close()
    say(STEPS[6])
    await corrections.propose(conn, run_id)
    await audit.record(
        conn, clock, actor=actor, action="recon.run", object_type="recon_run",
        object_id=str(run_id), details={"date": day.isoformat(), "channel": channel,
                                        "biller": biller},
    )  # fmt: skip
    return await report(conn, run_id)


async def _known(conn: AsyncConnection, channel: str | None, biller: str | None) -> None:
    if (
        channel is not None
        and not (
            await conn.execute(
                text("SELECT 1 FROM channels_directory WHERE code = :c"), {"c": channel}
            )
        ).first()
    ):
        raise DomainError(ErrorCode.NOT_FOUND, f"no channel {channel}")
    if (
        biller is not None
        and not (
            await conn.execute(
                text("SELECT 1 FROM billers_directory WHERE code = :c"), {"c": biller}
            )
        ).first()
    ):
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller}")


@dataclass(frozen=True, slots=True)
class Reading:
    """A run's read of the books: from PostgreSQL (through a pipe) or a kept file into
    the run's DuckDB."""

    conn: AsyncConnection
    found: repository.Sources
    matcher: Matcher
    work: Path
    kept: Kept

    async def copied(self, book: str, send: Callable[[pipe.Sink], Awaitable[None]]) -> None:
        await pipe.stream(self.work / f"{book}.csv", send, partial(self.matcher.load, book))

    async def payments(self) -> None:
        """The hub's payments: from the day's kept file if it holds them as they are now,
        else out of PostgreSQL."""
        found = self.found
        path = None
        if self.kept is not NOT_KEPT:
            path = await payments_file.usable(self.conn, found.window.day, self.kept)
        if path is None:
            await self.copied("hub", partial(repository.export_hub, self.conn, found))
            return
        load = partial(self.matcher.load_payments, path, list(found.billers), found.channels)
        await asyncio.to_thread(load)
        found.payments_read_from = "kept file"

    async def statements(self, party: str) -> None:
        """A party's statements: each from its kept file if it can stand for the lines,
        the others' lines out of PostgreSQL; each statement of the run's sources says
        which (``read_from``)."""
        copied = []
        for statement in self.found.of(party):
            # off the event loop: checking the file's SHA-256 and reading it take CPU
            from_file = await asyncio.to_thread(self._from_file, party, statement)
            statement["read_from"] = "kept file" if from_file else "postgresql"
            if not from_file:
                copied.append(statement["id"])
        if copied:
            send = partial(repository.export_lines, self.conn, self.found, party, copied)
            await self.copied(_BOOKS[party], send)

    def _from_file(self, party: str, statement: dict[str, Any]) -> bool:
        if self.kept is NOT_KEPT:
            return False
        path = columnar.usable(
            self.kept, statement["id"], statement["columnar_sha256"], statement["line_count"]
        )
        if path is None:
            return False
        code = statement["party_code"]
        key = {"party": self.biller_ids[code] if party == "biller" else code,
               "import_id": statement["id"]}  # fmt: skip
        filters = {"statuses": repository.STATUSES[party], "channel": self.found.channel}
        self.matcher.load_kept(_BOOKS[party], path, key, filters)
        return True

    @property
    def biller_ids(self) -> dict[str, int]:
        return {code: biller_id for biller_id, code in self.found.billers.items()}


_BOOKS = {"channel": "chan", "biller": "util"}  # the run's DuckDB table of a party's lines


async def _match(reading: Reading, *, scoped: bool, say: Step) -> dict[str, int]:
    conn, found, matcher = reading.conn, reading.found, reading.matcher
    say(STEPS[0])
    await reading.payments()
    say(STEPS[1])
    await reading.statements("channel")
    say(STEPS[2])
    await reading.statements("biller")
    matcher.set_ids("three_way", found.three_way)
    matcher.set_ids("scope", found.billers)
    say(STEPS[3])
    # an anti-join over the day's books (half a second a million): off the event loop too
    orders, payments = await asyncio.to_thread(matcher.unexplained)
    if orders or payments:
        await reading.copied("lookup", partial(repository.export_lookup, conn, orders, payments))
    say(STEPS[4])
    # CPU-bound: off the event loop, so a server keeps answering meanwhile
    return await asyncio.to_thread(matcher.classify, scoped=scoped)


async def _insert_run(
    conn: AsyncConnection,
    found: repository.Sources,
    counts: dict[str, int],
    *,
    actor: str,
    started: datetime,
    finished: datetime,
) -> int:
    window = found.window
    row = await conn.execute(
        insert(recon_runs)
        .values(
            business_date=window.day,
            channel_code=found.channel,
            biller_code=found.biller,
            cutoff_s=int(window.cutoff.total_seconds()),
            actor=actor,
            started_at=started,
            finished_at=finished,
            records=sum(counts.values()),
            counts={c.value: counts.get(c.value, 0) for c in Class},
            sources=found.as_json(),
        )
        .returning(recon_runs.c.id)
    )
    return int(row.scalar_one())


async def report(conn: AsyncConnection, run_id: int, *, limit: int = 1000) -> RunReport:
    """A run: its counts and sources, its breaks and their corrections (``limit`` each)."""
    run = (await conn.execute(select(recon_runs).where(recon_runs.c.id == run_id))).first()
    if run is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no reconciliation run {run_id}")
    breaks = await conn.execute(
        select(recon_items)
        .where(recon_items.c.run_id == run_id, recon_items.c["class"] != Class.MATCHED)
        .order_by(recon_items.c["class"], recon_items.c.item_no)
        .limit(limit)
    )
    fixes = await conn.execute(
        select(recon_corrections)
        .where(recon_corrections.c.run_id == run_id)
        .order_by(recon_corrections.c.item_no)
        .limit(limit)
    )
    return RunReport(
        dict(run._mapping),
        [dict(r._mapping) for r in breaks],
        [dict(r._mapping) for r in fixes],
    )


async def latest_run(conn: AsyncConnection, day: date) -> int:
    """The last run of a business day."""
    found = (
        await conn.execute(
            select(recon_runs.c.id)
            .where(recon_runs.c.business_date == day)
            .order_by(recon_runs.c.id.desc())
            .limit(1)
        )
    ).scalar()
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no reconciliation run of {day}")
    return int(found)


RUN_SUMMARY = ("id", "business_date", "channel_code", "biller_code", "actor", "finished_at",
               "records", "counts")  # fmt: skip


async def runs(
    conn: AsyncConnection, *, day: date | None = None, source: str | None = None, limit: int = 100
) -> list[dict[str, object]]:
    """Runs newest first, of one business day and one channel or biller when given (a run of
    every channel and biller is of each source)."""
    r = recon_runs.c
    query = select(*(r[name] for name in RUN_SUMMARY)).order_by(r.id.desc()).limit(limit)
    if day is not None:
        query = query.where(r.business_date == day)
    if source is not None:
        query = query.where(
            (r.channel_code == source)
            | (r.biller_code == source)
            | (r.channel_code.is_(None) & r.biller_code.is_(None))
        )
    return [dict(row._mapping) for row in await conn.execute(query)]

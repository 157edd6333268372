"""What the campaign proves once every payment has had its resolution window."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import business_date, day_bounds
from utilipay.runtime.books import check_books
from utilipay.statements.service import lines_between
from utilipay_tools.billersim.simulator import Simulator


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    passed: bool
    figures: str


def _without_time(line: str) -> str:
    fields = line.split("|")
    return "|".join(fields[:6] + fields[7:])  # D|orderno|serial|account|amount|channel|·|status


async def outcomes(engine: AsyncEngine, biller_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT status || coalesce(' ' || failure_code, '')"
                "       || coalesce(' (' || resolution || ')', '') AS kind, count(*) AS n"
                "  FROM payments WHERE biller_id = :b GROUP BY 1 ORDER BY 1"
            ),
            {"b": biller_id},
        )
        return {r.kind: r.n for r in rows}


def still_open(kind: str) -> bool:
    """A payment whose write-off, or whose void, the utility has not answered yet."""
    return kind.startswith(("PROCESSING", "VOID_PENDING"))


async def all_final(engine: AsyncEngine, biller_id: int) -> Verdict:
    found = await outcomes(engine, biller_id)
    open_ = {k: v for k, v in found.items() if still_open(k)}
    return Verdict("every payment is final", not open_, f"{sum(found.values())} payments: {found}")


async def write_offs_match(engine: AsyncEngine, biller_id: int, sim: Simulator) -> Verdict:
    standing = await sim.standing_write_offs()
    query = text("SELECT id, status = 'SUCCEEDED' AS paid FROM payments WHERE biller_id = :b")
    async with engine.connect() as conn:
        hub: dict[str, bool] = {r.id: r.paid for r in await conn.execute(query, {"b": biller_id})}
    wrong = [o for o in hub if hub[o] != standing.get(o, False)]
    strangers = [o for o, up in standing.items() if up and o not in hub]
    return Verdict(
        "the utility holds a standing write-off exactly for the hub's SUCCEEDED payments",
        not wrong and not strangers,
        f"{sum(hub.values())} SUCCEEDED, {sum(standing.values())} standing write-offs; "
        f"{len(wrong)} disagree, {len(strangers)} unknown to the hub",
    )


_FLOATS = text(
    """
    SELECT o.id, o.code, f.balance, f.held,
           coalesce(sum(p.amount) FILTER (WHERE p.status IN ('SUCCEEDED', 'VOID_PENDING')), 0)
               AS taken,
           coalesce(sum(p.amount) FILTER (WHERE p.status = 'PROCESSING'), 0) AS processing,
           count(*) FILTER (WHERE p.status = 'VOIDED') AS voided
      FROM outlets o JOIN outlet_floats f ON f.outlet_id = o.id
      LEFT JOIN outlet_payments op ON op.outlet_id = o.id
      LEFT JOIN payments p ON p.biller_id = op.biller_id AND p.id = op.payment_id
     WHERE o.id = ANY (:ids)
     GROUP BY o.id, o.code, f.balance, f.held ORDER BY o.code
    """
)


async def floats_match(engine: AsyncEngine, deposited: dict[int, int]) -> Verdict:
    """Each outlet's float is what was deposited less the payments it took that stand
    (a voided one given back, a failed one never taken), and holds exactly what is still
    PROCESSING at the utility."""
    async with engine.connect() as conn:
        rows = list(await conn.execute(_FLOATS, {"ids": list(deposited)}))
    wrong = [
        f"{r.code}: balance {r.balance}, held {r.held}"
        for r in rows
        if r.balance != deposited[r.id] - r.taken or r.held != r.processing or r.balance < r.held
    ]
    shown = "; ".join(
        f"{r.code}: float {r.balance} = {deposited[r.id]} deposited − {r.taken} taken "
        f"({r.voided} voided), {r.held} held" for r in rows
    )  # fmt: skip
    return Verdict(
        "every outlet's float = deposits − succeeded payments + voids − held",
        not wrong and len(rows) == len(deposited),
        shown + (f"; wrong: {wrong}" if wrong else ""),
    )


async def books_balance(engine: AsyncEngine) -> Verdict:
    async with engine.connect() as conn:
        results = await check_books(conn)
    failed = [r.check.name for r in results if not r.passed]
    return Verdict(
        "utilipay check", not failed, f"{len(results)} checks, failed: {failed or 'none'}"
    )


async def statements_match(
    engine: AsyncEngine, biller_id: int, sim: Simulator, days: list[date]
) -> Verdict:
    """The hub's statement lines and the simulator's own records, line for line.

    The time field is left out of the comparison: the hub dates a line when it
    recorded the outcome, the utility when it wrote off, and the two are
    different moments. Every other field must agree, for all the campaign's days.
    """
    ours: Counter[str] = Counter()
    theirs: Counter[str] = Counter()
    async with engine.connect() as conn:
        for day in days:
            start, end = day_bounds(day)
            lines = await lines_between(conn, biller_id, start, end)
            ours.update(_without_time(line.render()) for line in lines)
    for day in days:
        records = await sim.statement_lines(day)
        theirs.update(_without_time(line) for line in records if line.startswith("D|"))
    only_ours, only_theirs = ours - theirs, theirs - ours
    return Verdict(
        "the hub's statement equals the utility's records line for line",
        not only_ours and not only_theirs,
        f"{sum(ours.values())} lines at the hub, {sum(theirs.values())} at the utility; "
        f"{sum(only_ours.values())} only at the hub, {sum(only_theirs.values())} only there",
    )


def campaign_days(start: datetime, end: datetime) -> list[date]:
    first, last = business_date(start), business_date(end)
    return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]

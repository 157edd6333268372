"""The early-warning pass: every utility's rules checked, one transaction per utility.

Run by the worker (``worker/jobs.py``) and by ``utilipay warnings evaluate``. Safe to
repeat and to run twice at once (``episodes.py``): a rule still firing keeps its open
warning, one no longer firing ends its episode.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.billers import repository as billers_repo
from utilipay.clock import Clock, business_date
from utilipay.warnings import rules as rules_repo
from utilipay.warnings.episodes import record_firing
from utilipay.warnings.kinds import At, kind_of
from utilipay.warnings.tables import warning_rules


@dataclass(frozen=True, slots=True)
class Evaluated:
    utilities: int = 0
    rules: int = 0
    opened: int = 0
    cleared: int = 0

    def __add__(self, other: Evaluated) -> Evaluated:
        return Evaluated(
            self.utilities + other.utilities, self.rules + other.rules,
            self.opened + other.opened, self.cleared + other.cleared,
        )  # fmt: skip


async def evaluate_all(engine: AsyncEngine, clock: Clock, biller: str | None = None) -> Evaluated:
    """Every utility with rules (or the one named), each in its own transaction."""
    async with engine.connect() as conn:
        if biller is None:
            query = select(warning_rules.c.biller_id).distinct().order_by(warning_rules.c.biller_id)
            biller_ids = list((await conn.execute(query)).scalars())
        else:
            biller_ids = [await rules_repo.biller_id_of(conn, biller)]
    done = Evaluated()
    for biller_id in biller_ids:
        async with engine.begin() as conn:
            done += await evaluate_utility(conn, clock, biller_id)
    return done


async def evaluate_utility(conn: AsyncConnection, clock: Clock, biller_id: int) -> Evaluated:
    """Check each rule of one utility (over it and its branches) and record what changed."""
    biller = await billers_repo.by_id(conn, biller_id)
    if biller is None:
        return Evaluated()
    now = clock.now()
    at = At(biller.code, await billers_repo.group_of(conn, biller_id), business_date(now), now)
    contacts = await rules_repo.contacts(conn, biller_id)
    done = Evaluated(utilities=1)
    for rule in await rules_repo.list_rules(conn, frozenset({biller_id})):
        kind = kind_of(rule.kind)
        firing = await kind.fire(conn, at, rule.params) if rule.enabled else []
        changed = await record_firing(conn, now, biller, rule, firing, contacts)
        done += Evaluated(0, 1, changed.opened, changed.cleared)
    return done

"""A pass of background work: take the due items, work them with bounded concurrency,
count what happened to them (by the part of each result before a colon)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pass:
    attempted: int
    results: dict[str, int]


async def work_through(
    due: Iterable[Any], work: Callable[[Any], Awaitable[str | None]], *, concurrency: int
) -> Pass:
    """``work`` returns what happened ("delivered", "failed: REVERSED") or None to skip."""
    items = list(due)
    gate = asyncio.Semaphore(concurrency)
    results: dict[str, int] = {}

    async def one(item: Any) -> None:
        async with gate:
            result = await work(item)
        if result is not None:
            kind = result.split(":")[0]
            results[kind] = results.get(kind, 0) + 1

    await asyncio.gather(*(one(item) for item in items))
    return Pass(len(items), results)


async def in_batches(
    claim: Callable[[int], Awaitable[list[T]]],
    work: Callable[[list[T]], Awaitable[Counter[str]]],
    *,
    limit: int,
    batch: int,
) -> Pass:
    """A pass a batch at a time: ``claim`` takes (and leases) up to so many due items,
    ``work`` sends and records them and counts what happened; again until nothing is due
    or ``limit`` items were claimed. What the pass leased is not due again within it."""
    results: Counter[str] = Counter()
    attempted = 0
    while attempted < limit:
        claimed = await claim(min(batch, limit - attempted))
        if not claimed:
            break
        attempted += len(claimed)
        results.update(await work(claimed))
    return Pass(attempted, dict(results))

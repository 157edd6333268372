"""Many small transactions of one kind sent as one database call.

A server process under load has many requests of one kind in flight at once. A
``Batcher`` sends whatever has queued while the previous calls were running as one
call: one round trip and one commit (one WAL flush) for the lot, which is where
PostgreSQL spends most of a small transaction. Nothing waits for a batch to fill: an
idle hub sends each item at once. Each item keeps its own result; if the batch fails as
a whole (an unexpected error, a deadlock, a lost connection), every item is retried
alone, so one bad item cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock
from utilipay.db.engine import raw_connection

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(ABC, Generic[Item, Result]):
    """Each item is its own transaction, shared with whatever queued beside it: one call of
    a set-returning function whose rows each name their item (``item``, from 1)."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, *, max_in_flight: int, max_batch: int = 64
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @abstractmethod
    async def _fetch(self, raw: asyncpg.Connection, items: list[Item]) -> Sequence[asyncpg.Record]:
        """The batch's one call, on asyncpg's connection ``raw``: its rows, any order."""

    @abstractmethod
    def _result(self, row: asyncpg.Record) -> Result:
        """An item's result from its row."""

    @abstractmethod
    def _lock_order(self, item: Item) -> Any:
        """The key a batch's items are sorted by: one global order of the locks they take,
        so that concurrent batches cannot wait on each other."""

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._dispatch()
        return await asyncio.shield(future)  # a client hanging up does not cancel its batch

    def _dispatch(self) -> None:
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            self._in_flight += 1
            task = asyncio.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            batch.sort(key=lambda entry: self._lock_order(entry[0]))
            try:
                results = await self._call([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    return
                for item, future in batch:  # isolate the failure: every item on its own
                    try:
                        (result,) = await self._call([item])
                        _settle(future, result)
                    except Exception as item_exc:
                        _settle(future, item_exc)
                return
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)
        finally:
            self._in_flight -= 1
            self._dispatch()

    async def _call(self, items: list[Item]) -> list[Result]:
        """One transaction for ``items``, a result for each, in their order."""
        async with self._engine.connect() as conn:
            rows = sorted(await self._fetch(await raw_connection(conn), items),
                          key=lambda row: row["item"])  # fmt: skip
        if [row["item"] for row in rows] != list(range(1, len(items) + 1)):
            raise RuntimeError(f"{type(self).__name__}: not one answer for every item")
        return [self._result(row) for row in rows]

    async def drain(self) -> None:
        """Wait for every batch in flight (server shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _settle(future: asyncio.Future[Result], result: Result | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)

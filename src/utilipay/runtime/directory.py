"""Channels and billers by code, and agent channels' terminals by id, cached in each server
process.

Every request needs its channel (to check the signature) and usually a biller;
reading them from the database each time would double the round trips of a
payment. Changes are announced with ``NOTIFY`` in the changing transaction, so
they arrive after commit; a listener reloads on them, and a periodic reload
covers a dropped listener connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers import repository as billers_repo
from utilipay.billers.schemas import Biller
from utilipay.channels import repository as channels_repo
from utilipay.channels.schemas import Channel
from utilipay.common.changes import CHANGES
from utilipay.outlets.auth import Terminal, all_terminals

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Snapshot:
    channels: dict[str, Channel] = field(default_factory=dict)
    channels_by_id: dict[int, Channel] = field(default_factory=dict)
    billers: dict[str, Biller] = field(default_factory=dict)
    billers_by_id: dict[int, Biller] = field(default_factory=dict)
    terminals: dict[str, Terminal] = field(default_factory=dict)


class Directory:
    def __init__(self, engine: AsyncEngine, *, reload_every: float = 30.0) -> None:
        self._engine = engine
        self._reload_every = reload_every
        self._snapshot = _Snapshot()
        self._loaded_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._keep_fresh())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def reload(self) -> None:
        async with self._lock, self._engine.connect() as conn:
            channels = await channels_repo.all_channels(conn)
            billers = await billers_repo.all_billers(conn)
            terminals = await all_terminals(conn)
        self._snapshot = _Snapshot(
            channels={c.code: c for c in channels},
            channels_by_id={c.id: c for c in channels},
            billers={b.code: b for b in billers},
            billers_by_id={b.id: b for b in billers},
            terminals={t.id: t for t in terminals},
        )
        self._loaded_at = time.monotonic()

    def channel(self, code: str) -> Channel | None:
        return self._snapshot.channels.get(code)

    def channel_by_id(self, channel_id: int) -> Channel | None:
        return self._snapshot.channels_by_id.get(channel_id)

    def channel_code(self, channel_id: int) -> str:
        channel = self.channel_by_id(channel_id)
        return channel.code if channel else str(channel_id)

    def terminal(self, terminal_id: str) -> Terminal | None:
        return self._snapshot.terminals.get(terminal_id)

    def biller(self, code: str) -> Biller | None:
        return self._snapshot.billers.get(code)

    def biller_by_id(self, biller_id: int) -> Biller | None:
        return self._snapshot.billers_by_id.get(biller_id)

    def billers(self) -> list[Biller]:
        return list(self._snapshot.billers.values())

    async def reload_if_stale(self, min_age: float = 1.0) -> bool:
        """On a miss, reload unless we just did: unknown codes cost at most a query a second."""
        if time.monotonic() - self._loaded_at < min_age:
            return False
        await self.reload()
        return True

    async def _keep_fresh(self) -> None:
        changed = asyncio.Event()
        while True:
            try:
                await self._listen(changed)
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), self._reload_every)
                    changed.clear()
                    await self.reload()
                    await self._listen(changed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving from the last snapshot; retry soon
                log.warning("directory.reload_failed", error=str(exc))
                self._listener = None
                await asyncio.sleep(1.0)

    async def _listen(self, changed: asyncio.Event) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        url = self._engine.url
        host = url.query.get("host")
        self._listener = await asyncpg.connect(
            user=url.username,
            password=url.password,
            database=url.database,
            host=host if isinstance(host, str) else url.host,
            port=url.port,
        )
        await self._listener.add_listener(CHANGES, lambda *_: changed.set())
        # A lost listener may have missed changes: reload, and reconnect on the next round.
        self._listener.add_termination_listener(lambda *_: changed.set())

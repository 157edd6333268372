"""The running hub: engine, clock and directory shared by every request of a process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock, SystemClock
from utilipay.config import get_settings
from utilipay.db.engine import create_engine
from utilipay.directory import Directory


@dataclass
class Hub:
    engine: AsyncEngine
    clock: Clock
    directory: Directory

    @classmethod
    def from_url(cls, url: URL, clock: Clock | None = None) -> Hub:
        engine = create_engine(url, pool_size=get_settings().pool_size)
        return cls(engine=engine, clock=clock or SystemClock(), directory=Directory(engine))

    async def start(self) -> None:
        await self.directory.start()

    async def stop(self) -> None:
        await self.directory.stop()
        await self.engine.dispose()

    def biller_code(self, biller_id: int) -> str:
        biller = self.directory.biller_by_id(biller_id)
        return biller.code if biller else str(biller_id)

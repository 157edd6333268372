"""The running hub: engine, clock, directory and write-off paths shared by a process's requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.billers.schemas import IntegrationMode
from utilipay.clock import Clock, SystemClock
from utilipay.config import get_settings
from utilipay.db.engine import create_engine
from utilipay.directory import Directory
from utilipay.payments.hosted import BatchedHostedPayments
from utilipay.payments.service import HostedWriteOff, WriteOffPath


@dataclass
class Hub:
    engine: AsyncEngine
    clock: Clock
    directory: Directory
    hosted_payments: BatchedHostedPayments = field(init=False)
    write_offs: dict[IntegrationMode, WriteOffPath] = field(init=False)

    def __post_init__(self) -> None:
        # Leave connections for the requests that are not payments.
        pool_size: int = self.engine.pool.size()  # type: ignore[attr-defined]
        in_flight = max(1, min(get_settings().payment_batches_in_flight, pool_size - 2))
        self.hosted_payments = BatchedHostedPayments(
            self.engine, self.clock, max_in_flight=in_flight
        )
        self.write_offs = {IntegrationMode.HOSTED: HostedWriteOff(self.hosted_payments)}

    @classmethod
    def from_url(cls, url: URL, clock: Clock | None = None) -> Hub:
        engine = create_engine(url, pool_size=get_settings().pool_size)
        return cls(engine=engine, clock=clock or SystemClock(), directory=Directory(engine))

    async def start(self) -> None:
        await self.directory.start()

    async def stop(self) -> None:
        await self.hosted_payments.drain()
        await self.directory.stop()
        await self.engine.dispose()

    def biller_code(self, biller_id: int) -> str:
        biller = self.directory.biller_by_id(biller_id)
        return biller.code if biller else str(biller_id)

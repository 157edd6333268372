"""The running hub: engine, clock, directory and write-off paths shared by a process's requests."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.accounts.connector import Connectors
from utilipay.billers.remote import RemoteBillers
from utilipay.billers.schemas import Biller
from utilipay.channels import service as channels_service
from utilipay.channels.ratelimit import FailedAuthentications, RateLimiter
from utilipay.channels.schemas import Channel
from utilipay.clock import Clock, SystemClock
from utilipay.config import get_settings
from utilipay.db.engine import create_engine
from utilipay.http.failures import exception_names
from utilipay.outlets.auth import Terminal
from utilipay.payments.hosted import BatchedHostedPayments
from utilipay.payments.service import WriteOffPaths
from utilipay.runtime.directory import Directory
from utilipay.runtime.writeoffs import WriteOffServices
from utilipay.vouchers.redeem import Redemptions

NONCE_PURGE_INTERVAL = 60.0
log = structlog.get_logger(__name__)


def _auth_failures() -> FailedAuthentications:
    settings = get_settings()
    return FailedAuthentications(
        settings.auth_failure_limit, settings.auth_failure_window, settings.auth_failure_block
    )


@dataclass
class Hub:
    engine: AsyncEngine
    clock: Clock
    directory: Directory
    payment_batches_in_flight: int = field(
        default_factory=lambda: get_settings().payment_batches_in_flight
    )
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    auth_failures: FailedAuthentications = field(default_factory=_auth_failures)
    write_off_services: WriteOffServices = field(init=False)
    redemptions: Redemptions = field(init=False)
    _housekeeping: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Leave connections for the requests that are not payments.
        pool_size: int = self.engine.pool.size()  # type: ignore[attr-defined]
        batches_in_flight = max(1, min(self.payment_batches_in_flight, pool_size - 2))
        self.write_off_services = WriteOffServices.build(
            self.engine,
            self.clock,
            self.directory.channel_code,
            batches_in_flight=batches_in_flight,
        )
        self.redemptions = Redemptions(self.engine, self.clock, max_in_flight=batches_in_flight)

    @property
    def write_off_paths(self) -> WriteOffPaths:
        return self.write_off_services.paths

    @property
    def connectors(self) -> Connectors:
        return self.write_off_services.connectors

    @property
    def remote_billers(self) -> RemoteBillers:
        return self.write_off_services.remote_billers

    @property
    def hosted_payments(self) -> BatchedHostedPayments:
        return self.write_off_services.hosted_payments

    @classmethod
    def from_url(cls, url: URL, clock: Clock | None = None) -> Hub:
        engine = create_engine(url, pool_size=get_settings().pool_size)
        return cls(engine=engine, clock=clock or SystemClock(), directory=Directory(engine))

    async def start(self) -> None:
        await self.directory.start()
        self._housekeeping = asyncio.create_task(self._purge_nonces_forever())

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.write_off_services.close()
        await self.redemptions.drain()
        await self.directory.stop()
        await self.engine.dispose()

    async def _purge_nonces_forever(self) -> None:
        """Keep the nonce table at ten minutes of requests (channel-api.md §3)."""
        while True:
            try:
                async with self.engine.begin() as conn:
                    await channels_service.purge_expired_nonces(conn, self.clock)
            except Exception as exc:  # a missed purge only lets the table grow a little
                log.warning("nonces.purge_failed", error=exception_names(exc))
            await asyncio.sleep(NONCE_PURGE_INTERVAL)

    def biller_code(self, biller_id: int) -> str:
        biller = self.directory.biller_by_id(biller_id)
        return biller.code if biller else str(biller_id)

    # The directory's lookups, as the areas' host protocols name them.
    def channel(self, code: str) -> Channel | None:
        return self.directory.channel(code)

    def terminal(self, terminal_id: str) -> Terminal | None:
        return self.directory.terminal(terminal_id)

    async def reload_if_stale(self) -> bool:
        return await self.directory.reload_if_stale()

    def biller(self, code: str) -> Biller | None:
        return self.directory.biller(code)

    def biller_by_id(self, biller_id: int) -> Biller | None:
        return self.directory.biller_by_id(biller_id)

    def billers(self) -> list[Biller]:
        return self.directory.billers()

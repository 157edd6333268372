"""The write-off paths a process uses, one per integration mode (the API and the worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.accounts.connector import Connectors
from utilipay.billers.remote import RemoteBillers
from utilipay.billers.schemas import IntegrationMode
from utilipay.clock import Clock
from utilipay.payments.hosted import BatchedHostedPayments
from utilipay.payments.remote import RemoteWriteOff
from utilipay.payments.service import HostedWriteOff, WriteOffPaths
from utilipay.prepaid.topup import TopUps


@dataclass
class WriteOffServices:
    """What a process writes bills off with: the hosted batcher, the remote billers'
    clients, the account connectors, and over them the ``paths``, one per integration
    mode (a hub's ``write_off_paths``)."""

    hosted_payments: BatchedHostedPayments
    remote_billers: RemoteBillers
    connectors: Connectors
    paths: WriteOffPaths

    @classmethod
    def build(
        cls,
        engine: AsyncEngine,
        clock: Clock,
        channel_code: Callable[[int], str],
        *,
        batches_in_flight: int,
    ) -> WriteOffServices:
        remote_billers = RemoteBillers(clock)
        connectors = Connectors(remote_billers, clock)
        hosted = BatchedHostedPayments(engine, clock, max_in_flight=batches_in_flight)
        remote = RemoteWriteOff(
            engine,
            clock,
            remote_billers,
            connectors.for_mode(IntegrationMode.REMOTE),
            channel_code,
        )
        return cls(
            hosted,
            remote_billers,
            connectors,
            {
                IntegrationMode.HOSTED: HostedWriteOff(hosted, TopUps(engine, clock)),
                IntegrationMode.REMOTE: remote,
            },
        )

    async def close(self) -> None:
        await self.hosted_payments.drain()
        await self.remote_billers.close()

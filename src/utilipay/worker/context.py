"""What a worker process needs to do background work: the database, the clock,
the directory, pooled HTTP clients, the write-off paths and the outbox's consumers."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.autopay import channel_debits
from utilipay.autopay.engine import AutopayEngine, AutopayPass
from utilipay.autopay.send import Senders
from utilipay.billers.remote import RemoteBillers
from utilipay.clock import Clock, SystemClock
from utilipay.common import outgoing
from utilipay.common.outgoing_aiohttp import PooledClient
from utilipay.common.passes import Pass
from utilipay.db.engine import create_engine
from utilipay.headend import delivery as meter_delivery
from utilipay.headend.consumers import meter_command_consumers
from utilipay.notify.consumers import notification_consumers
from utilipay.notify.delivery import deliver_due_notifications
from utilipay.notify.overdue import send_overdue_notices
from utilipay.notify.providers import build_providers
from utilipay.notify.providers.base import Provider
from utilipay.notify.reminders import remind_due_bills
from utilipay.notify.settings import get_notify_settings
from utilipay.outbox.dispatch import Consumer, Dispatcher
from utilipay.payments import minutes, rollups
from utilipay.payments.resolution import resolve_due
from utilipay.payments.voids import resolve_due_voids
from utilipay.prepaid.tasks import PrepaidPass, run_prepaid
from utilipay.runtime.directory import Directory
from utilipay.runtime.writeoffs import WriteOffServices
from utilipay.vouchers.expiry import Expired, expire
from utilipay.warnings.evaluate import Evaluated, evaluate_all
from utilipay.webhooks import service as webhooks
from utilipay.webhooks.consumers import PaymentWebhooks


@dataclass
class WorkerContext:
    engine: AsyncEngine
    clock: Clock
    directory: Directory
    write_off_services: WriteOffServices = field(init=False)
    webhook_http: PooledClient = field(init=False)
    notify_http: httpx.AsyncClient = field(init=False)
    debit_http: PooledClient = field(init=False)
    head_end_http: httpx.AsyncClient = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    autopay: AutopayEngine = field(init=False)
    notify_providers: dict[str, Provider] = field(init=False)

    def __post_init__(self) -> None:
        self.write_off_services = WriteOffServices.build(
            self.engine, self.clock, self.directory.channel_code, batches_in_flight=2
        )
        self.webhook_http = webhooks.http_client()
        # the message providers' (an SMS gateway's, a channel's push), as the webhooks' was
        self.notify_http = outgoing.http_client(webhooks.TIMEOUT, 3.0)
        self.debit_http = channel_debits.http_client()
        self.head_end_http = meter_delivery.http_client()
        payment_webhooks = PaymentWebhooks(self.directory.channel_by_id, self.biller_code)
        consumers: dict[str, list[Consumer]] = {
            "payment.succeeded": [payment_webhooks],
            "payment.failed": [payment_webhooks],
            "payment.voided": [payment_webhooks],
            "payment.void_refused": [payment_webhooks],
        }
        for event_type, more in notification_consumers(self.directory.channel_by_id).items():
            consumers.setdefault(event_type, []).extend(more)
        for event_type, more in meter_command_consumers().items():
            consumers.setdefault(event_type, []).extend(more)
        self.dispatcher = Dispatcher(consumers)
        self.notify_providers = build_providers(
            get_notify_settings(), self.notify_http, self.directory.channel_by_id
        )
        self.autopay = AutopayEngine(
            self.engine,
            Senders(
                self.debit_http,
                self.directory.channel_by_id,
                self.directory.biller_by_id,
                self.biller_code,
                self.write_off_services.paths,
                self.write_off_services.remote_billers,
            ),
        )

    @classmethod
    def from_url(cls, url: URL, clock: Clock | None = None) -> WorkerContext:
        engine = create_engine(url, pool_size=12, pre_ping=True)
        return cls(engine=engine, clock=clock or SystemClock(), directory=Directory(engine))

    @property
    def remote_billers(self) -> RemoteBillers:
        return self.write_off_services.remote_billers

    def biller_code(self, biller_id: int) -> str:
        biller = self.directory.biller_by_id(biller_id)
        return biller.code if biller else str(biller_id)

    async def start(self) -> None:
        await self.directory.start()

    async def close_clients(self) -> None:
        """The HTTP clients and the write-off services closed (the directory stays up)."""
        for http in (self.webhook_http, self.notify_http, self.debit_http, self.head_end_http):
            await http.aclose()
        await self.write_off_services.close()

    async def stop(self) -> None:
        await self.close_clients()
        await self.directory.stop()
        await self.engine.dispose()

    # ------------------------------------------------------------ the passes

    async def dispatch_outbox(self) -> int:
        total = 0
        while handed := await self.dispatcher.dispatch_pending(self.engine, self.clock):
            total += handed
        return total

    async def resolve_payments(self) -> Pass:
        return await resolve_due(
            self.engine,
            self.clock,
            self.remote_billers,
            self.directory.biller_by_id,
            self.directory.channel_code,
        )

    async def resolve_voids(self) -> Pass:
        return await resolve_due_voids(
            self.engine, self.clock, self.remote_billers, self.directory.biller_by_id
        )

    async def fold_payment_rollups(self) -> Pass:
        return await rollups.fold(self.engine)

    async def fold_payment_minutes(self) -> Pass:
        return await minutes.fold(self.engine, self.clock)

    async def deliver_webhooks(self) -> Pass:
        return await webhooks.deliver_due(
            self.engine, self.clock, self.webhook_http, self.directory.channel_by_id
        )

    async def deliver_meter_commands(self) -> Pass:
        return await meter_delivery.deliver_due_commands(
            self.engine, self.clock, self.head_end_http
        )

    async def run_autopay(self) -> AutopayPass:
        return await self.autopay.run_once(self.clock)

    async def run_prepaid(self) -> PrepaidPass:
        return await run_prepaid(self.engine, self.clock)

    async def expire_vouchers(self) -> Expired:
        async with self.engine.begin() as conn:
            return await expire(conn, self.clock, actor="worker")

    async def deliver_notifications(self) -> Pass:
        return await deliver_due_notifications(
            self.engine,
            self.clock,
            self.notify_providers,
            give_up_after=get_notify_settings().notify_give_up_after,
        )

    async def remind_due_bills(self) -> int:
        return await remind_due_bills(
            self.engine, self.clock, get_notify_settings().remind_days_before
        )

    async def send_overdue_notices(self) -> int:
        return await send_overdue_notices(self.engine, self.clock)

    async def evaluate_warnings(self) -> Evaluated:
        return await evaluate_all(self.engine, self.clock)

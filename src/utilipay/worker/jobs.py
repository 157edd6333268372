"""The job queue (procrastinate, on the hub's own PostgreSQL): ``utilipay worker``.

The state of every piece of background work lives in the hub's tables
(payments due a check, deliveries due an attempt, events not yet dispatched),
claimed row by row with ``FOR UPDATE SKIP LOCKED``. Procrastinate runs the
passes over them every second on each worker, so any number of workers share
the work, a worker killed with SIGKILL loses nothing (its locks die with its
connections), and every pass is safe to repeat. A queueing lock keeps at most
one pass of a kind waiting; passes left "doing" by a killed worker are
closed by a sweep.
"""

from __future__ import annotations

from typing import Any

import procrastinate
import structlog
from procrastinate import JobContext
from procrastinate.jobs import Status

from utilipay.worker.context import WorkerContext

log = structlog.get_logger(__name__)
EVERY_SECOND = "* * * * * *"
CONTEXT = "utilipay"


def _context(job: JobContext) -> WorkerContext:
    context: WorkerContext = job.additional_context[CONTEXT]
    return context


def build_app(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.periodic(cron=EVERY_SECOND, queueing_lock="dispatch_outbox")
    @app.task(name="dispatch_outbox", queue="passes", pass_context=True)
    async def dispatch_outbox(job: JobContext, timestamp: int) -> None:
        handed = await _context(job).dispatch_outbox()
        if handed:
            log.info("outbox.dispatched", events=handed)

    @app.periodic(cron=EVERY_SECOND, queueing_lock="resolve_payments")
    @app.task(name="resolve_payments", queue="passes", pass_context=True)
    async def resolve_payments(job: JobContext, timestamp: int) -> None:
        done = await _context(job).resolve_payments()
        if done.attempted:
            log.info("payments.resolution_pass", attempted=done.attempted, **done.results)

    @app.periodic(cron=EVERY_SECOND, queueing_lock="deliver_webhooks")
    @app.task(name="deliver_webhooks", queue="passes", pass_context=True)
    async def deliver_webhooks(job: JobContext, timestamp: int) -> None:
        done = await _context(job).deliver_webhooks()
        if done.attempted:
            log.info("webhooks.delivery_pass", attempted=done.attempted, **done.results)

    @app.periodic(cron="*/5 * * * * *", queueing_lock="autopay")
    @app.task(name="autopay", queue="passes", pass_context=True)
    async def autopay(job: JobContext, timestamp: int) -> None:
        done = await _context(job).run_autopay()
        if done.polled.attempted or done.scheduled or done.sent.attempted:
            log.info(
                "autopay.pass",
                polled=done.polled.results,
                scheduled=done.scheduled,
                sent=done.sent.results,
            )

    @app.periodic(cron="*/30 * * * * *", queueing_lock="close_stalled_passes")
    @app.task(name="close_stalled_passes", queue="housekeeping", pass_context=True)
    async def close_stalled_passes(job: JobContext, timestamp: int) -> None:
        """Passes a killed worker left 'doing' are closed as failed: the next pass, a
        second later, does their work (the state is in our tables, not in the job)."""
        stalled = list(await job.app.job_manager.get_stalled_jobs())
        for stalled_job in stalled:
            await job.app.job_manager.finish_job(stalled_job, Status.FAILED, delete_job=False)
        if stalled:
            log.warning("jobs.stalled_closed", count=len(stalled))

    return app


async def run_worker(
    app: procrastinate.App, context: WorkerContext, *, concurrency: int = 4, **options: Any
) -> None:
    await context.start()
    try:
        async with app.open_async():
            await app.run_worker_async(
                concurrency=concurrency,
                additional_context={CONTEXT: context},
                delete_jobs="successful",
                **options,
            )
    finally:
        await context.stop()

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

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
import structlog
from procrastinate import JobContext
from procrastinate.jobs import Status

from utilipay.collection import days as collection_days
from utilipay.collection.analyses import documents_maker, make_due_analyses
from utilipay.common.passes import Pass
from utilipay.console.i18n import Locale, translator
from utilipay.worker.context import WorkerContext
from utilipay.worker.stopping import cancel_on_stop_signals

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

    _every_second(app, "resolve_payments", WorkerContext.resolve_payments)
    _every_second(app, "resolve_voids", WorkerContext.resolve_voids)
    _every_second(app, "fold_payment_rollups", WorkerContext.fold_payment_rollups)
    _every_second(app, "fold_payment_minutes", WorkerContext.fold_payment_minutes)
    _every_second(app, "deliver_webhooks", WorkerContext.deliver_webhooks)
    _every_second(app, "deliver_notifications", WorkerContext.deliver_notifications)
    _every_second(app, "deliver_meter_commands", WorkerContext.deliver_meter_commands)

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

    # Every quarter of an hour: yesterday is settled soon after midnight (or as soon as
    # its readings arrive), cuts follow the grace within minutes, statements on the 1st.
    @app.periodic(cron="*/15 * * * *", queueing_lock="prepaid")
    @app.task(name="prepaid", queue="passes", pass_context=True)
    async def prepaid(job: JobContext, timestamp: int) -> None:
        done = await _context(job).run_prepaid()
        if done.worked:
            log.info(
                "prepaid.pass",
                days={str(d.day): d.accounts for d in done.days},
                cut=done.cut,
                held_for_warning=done.held_for_warning,
                statements=done.statements,
            )
        if done.waiting:
            log.warning(
                "prepaid.waiting_for_readings",
                accounts=done.waiting,
                since=str(done.waiting_since),
            )

    # Daily just after midnight Shanghai (16:05 UTC): vouchers past their last day expire,
    # sold ones booked as breakage. Repeating it expires nothing twice.
    @app.periodic(cron="5 16 * * *", queueing_lock="expire_vouchers")
    @app.task(name="expire_vouchers", queue="passes", pass_context=True)
    async def expire_vouchers(job: JobContext, timestamp: int) -> None:
        done = await _context(job).expire_vouchers()
        if done.vouchers:
            log.info("vouchers.expired", vouchers=done.vouchers, breakage=done.breakage)

    # Hourly from 09:00 to 20:00 Shanghai (01-12 UTC): no reminder arrives at night, and a
    # worker down for an hour still reminds that day. Repeating it sends nothing twice.
    @app.periodic(cron="0 1-12 * * *", queueing_lock="remind_due_bills")
    @app.task(name="remind_due_bills", queue="passes", pass_context=True)
    async def remind_due_bills(job: JobContext, timestamp: int) -> None:
        reminded = await _context(job).remind_due_bills()
        if reminded:
            log.info("notify.reminders", bills=reminded)

    _collection_management(app)

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


def _every_second(
    app: procrastinate.App, name: str, work: Callable[[WorkerContext], Awaitable[Pass]]
) -> None:
    """A pass over due rows (payments to resolve, messages to deliver) every second."""

    async def run(job: JobContext, timestamp: int) -> None:
        done = await work(_context(job))
        if done.attempted:
            log.info(f"{name}.pass", attempted=done.attempted, **done.results)

    task = app.task(name=name, queue="passes", pass_context=True)(run)
    app.periodic(cron=EVERY_SECOND, queueing_lock=name)(task)


# How long a stopping worker waits for the passes it is running: each is short and safe to
# repeat, so one that hangs (a biller that never answers) is abandoned, not waited for.
GRACE_SECONDS = 15.0


async def run_worker(
    app: procrastinate.App,
    context: WorkerContext,
    *,
    stop_requested: threading.Event,
    concurrency: int = 4,
    **options: Any,
) -> None:
    """Run until a stop signal; then finish the running passes and return.

    ``stop_requested`` is set by a stop signal that came before this loop could take it
    (``stopping.note_stop_signals``); the loop takes the ones after.
    """
    this_task = asyncio.current_task()
    if this_task is None:  # pragma: no cover (asyncio.run always runs a task)
        raise RuntimeError("run_worker must run in an asyncio task")
    cancel_on_stop_signals(this_task)
    if stop_requested.is_set():  # asked to stop while it started: nothing begun yet
        return
    await context.start()
    try:
        async with app.open_async():
            await app.run_worker_async(
                concurrency=concurrency,
                additional_context={CONTEXT: context},
                delete_jobs="successful",
                install_signal_handlers=False,
                shutdown_graceful_timeout=GRACE_SECONDS,
                **options,
            )
    finally:
        await context.stop()


def _collection_management(app: procrastinate.App) -> None:
    """The passes of collection management (issue 13): daily figures, overdue notices, the
    monthly analysis, early warning."""

    # Every ten minutes: the business days over (and settled) are closed into collection's
    # daily figures, once each; a worker down for a while catches up a month at a time.
    @app.periodic(cron="*/10 * * * *", queueing_lock="close_collection_days")
    @app.task(name="close_collection_days", queue="passes", pass_context=True)
    async def close_collection_days(job: JobContext, timestamp: int) -> None:
        context = _context(job)
        done = await collection_days.close(context.engine, context.clock)
        if done.attempted:
            log.info("collection.days_closed", days=done.attempted)

    # The overdue notices (逾期提醒) in the same daytime hours; each goes once.
    @app.periodic(cron="30 1-12 * * *", queueing_lock="send_overdue_notices")
    @app.task(name="send_overdue_notices", queue="passes", pass_context=True)
    async def send_overdue_notices(job: JobContext, timestamp: int) -> None:
        noticed = await _context(job).send_overdue_notices()
        if noticed:
            log.info("notify.overdue_notices", bills=noticed)

    # Hourly from 08:00 Shanghai (00 UTC): each utility's monthly collection analysis, due
    # from the month's first working day (collection/analyses.py); once per month.
    @app.periodic(cron="0 0-12 * * *", queueing_lock="collection_analyses")
    @app.task(name="collection_analyses", queue="passes", pass_context=True)
    async def collection_analyses(job: JobContext, timestamp: int) -> None:
        context = _context(job)
        make = documents_maker(translator(Locale.ZH_CN))
        made = await make_due_analyses(context.engine, context.clock, make)
        if made:
            log.info("collection.analyses_made", utilities=made)

    # Every quarter of an hour: the utilities' early-warning rules (回收预警). Repeating it
    # opens no warning twice (one per episode).
    @app.periodic(cron="*/15 * * * *", queueing_lock="evaluate_warnings")
    @app.task(name="evaluate_warnings", queue="passes", pass_context=True)
    async def evaluate_warnings(job: JobContext, timestamp: int) -> None:
        done = await _context(job).evaluate_warnings()
        if done.opened or done.cleared:
            log.info("warnings.pass", opened=done.opened, cleared=done.cleared)

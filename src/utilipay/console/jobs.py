"""Running long work started from a page without holding the page: the work runs as a
task of the server process, records its progress in ``staff_jobs``, and the page polls
the job's fragment (``pages/jobs.py``) until it is done.

The work is a workflow: it takes the engine and opens its own short transactions, never
one across the whole run, and reports progress through the callback it is given.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog
from starlette.requests import Request

from utilipay.console.visits import host
from utilipay.errors import DomainError
from utilipay.http.host import Host
from utilipay.staff import jobs
from utilipay.staff.roles import Staff

log = structlog.get_logger(__name__)
# progress is written at most this often (seconds): a million-line import is not a
# million writes
PROGRESS_EVERY = 0.5


class Progress:
    """``await progress(done, total)`` from inside the work."""

    def __init__(self, hub: Host, job_id: int) -> None:
        self._hub = hub
        self._job_id = job_id
        self._last = 0.0

    async def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        async with self._hub.engine.begin() as conn:
            await jobs.progress(conn, self._hub.clock, self._job_id, done, total)


# What the work says when it is done: a line for people, and what the page shows.
Outcome = tuple[str, dict[str, object] | None]
Work = Callable[[Progress], Awaitable[Outcome]]
_RUNNING: set[asyncio.Task[None]] = set()  # kept, so the loop does not collect them


async def launch(
    request: Request, staff: Staff, *, kind: str, biller_id: int | None, title: str, work: Work
) -> int:
    """Record the job, start the work beside the request, and return the job's id."""
    hub = host(request)
    async with hub.engine.begin() as conn:
        job_id = await jobs.start(
            conn, hub.clock, kind=kind, biller_id=biller_id, title=title, started_by=staff.id
        )
    task = asyncio.create_task(_run(hub, job_id, work))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return job_id


async def _run(hub: Host, job_id: int, work: Work) -> None:
    try:
        outcome, result = await work(Progress(hub, job_id))
        succeeded = True
    except DomainError as exc:  # a refusal: the file, the period, … is wrong
        outcome, result, succeeded = exc.detail, None, False
    except asyncio.CancelledError:
        outcome, result, succeeded = "interrupted: the hub stopped", None, False
    except Exception:
        log.exception("console.job_failed", job_id=job_id)
        outcome, result, succeeded = (
            "failed unexpectedly; the hub's log has the details",
            None,
            False,
        )
    async with hub.engine.begin() as conn:
        await jobs.finish(
            conn, hub.clock, job_id, succeeded=succeeded, outcome=outcome, result=result
        )


async def wait_for_all() -> None:
    """Tests: until every job started so far is done."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)

"""Reconciliation (对账): the runs of each day and source, a run's three-way result with its
breaks and evidence, starting a run (long work, beside the page) and applying its
corrections, dry first (the recon service's calls, as ``utilipay recon run|apply``)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.console import jobs
from utilipay.console.i18n import locale_of, translator, words
from utilipay.console.jobs import Outcome, Progress
from utilipay.console.templating import render
from utilipay.console.visits import host, needs
from utilipay.errors import DomainError, ErrorCode
from utilipay.recon import corrections, service
from utilipay.recon.api import ReconHost
from utilipay.recon.classify import Action, Class
from utilipay.recon.corrections import Applied
from utilipay.staff import jobs as staff_jobs
from utilipay.staff.roles import Permission, Staff

router = APIRouter()
Text = Annotated[str, Query(max_length=64)]
Field = Annotated[str, Form(max_length=500)]
Reader = Annotated[Staff, needs(Permission.RECON_READ)]
Applier = Annotated[Staff, needs(Permission.RECON_APPLY)]
RUN_JOB = "recon.run"
ONLY = ("", *(c.value for c in Class if c is not Class.MATCHED), *(a.value for a in Action))


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("A date is YYYY-MM-DD.")) from None


@router.get("/recon")
async def recon_runs(
    request: Request, staff: Reader, day: Text = "", source: Text = "", job: int | None = None
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        found = await service.runs(conn, day=_day(day), source=source.strip().upper() or None)
        started = await staff_jobs.find(conn, job) if job is not None else None
    if started is not None and started.kind != RUN_JOB:
        started = None  # another page's job: shown there
    return render(
        request, "recon.html", runs=found, filters={"day": day, "source": source}, job=started,
        interrupted=started is not None and started.interrupted(hub.clock.now()),
        classes=[c.value for c in Class],
    )  # fmt: skip


@router.post("/recon/runs")
async def start_run(
    request: Request, staff: Applier, day: Field, channel: Field = "", biller: Field = ""
) -> Response:
    """Reconcile a day beside the page: the job's card shows how far it got."""
    wanted = _day(day.strip())
    if wanted is None:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("Say which business day."))
    hub = host(request)
    of_channel, of_biller = channel.strip().upper() or None, biller.strip().upper() or None

    async def work(progress: Progress) -> Outcome:
        reported: list[asyncio.Task[None]] = []

        def step(name: str) -> None:  # the service says each step; the card shows it
            done = service.STEPS.index(name) + 1
            reported.append(asyncio.create_task(progress(done, len(service.STEPS))))

        async with hub.engine.begin() as conn:
            report = await service.run_day(
                conn,
                hub.clock,
                wanted,
                actor=staff.username,
                step=step,
                channel=of_channel,
                biller=of_biller,
            )
        await asyncio.gather(*reported)
        breaks = report.run["records"] - report.run["counts"].get(Class.MATCHED, 0)
        line = f"run {report.id}: {report.run['records']} records, {breaks} breaks"
        return line, {"run": report.id}

    title = f"{translator(locale_of(request))('Reconciliation')} {wanted}"  # in the asker's words
    job_id = await jobs.launch(request, staff, kind=RUN_JOB, biller_id=None, title=title,
                               work=work)  # fmt: skip
    return RedirectResponse(f"/console/recon?job={job_id}", status_code=303)


Row = dict[str, object]


def _by_class(breaks: list[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for item in breaks:
        grouped[str(item["class"])].append(item)
    return dict(grouped)


async def _run_page(
    request: Request,
    run_id: int,
    *,
    status_code: int = 200,
    planned: list[Applied] | None = None,
    done: list[Applied] | None = None,
    form: dict[str, str] | None = None,
    error: str = "",
) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        report = await service.report(conn, run_id)
    return render(
        request, "recon_run.html", status_code=status_code, run=report.run,
        breaks=_by_class(report.breaks), fixes=report.corrections, planned=planned, done=done,
        form=form or {"reason": "", "only": ""}, only_choices=ONLY, error=error,
    )  # fmt: skip


@router.get("/recon/runs/{run_id}")
async def show_run(request: Request, staff: Reader, run_id: int) -> Response:
    return await _run_page(request, run_id)


@router.post("/recon/runs/{run_id}/apply")
async def apply_corrections(
    request: Request,
    staff: Applier,
    run_id: int,
    reason: Field = "",
    only: Field = "",
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Dry: what each open correction would do, and the button to apply them; else apply
    them (each once, audited with the reason)."""
    if only not in ONLY:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, words("No such class or action."))
    hub: ReconHost = request.app.state.hub
    form = {"reason": reason, "only": only}
    try:
        result = await corrections.apply(
            hub.engine, hub.clock, run_id, hub.remote_billers, actor=staff.username,
            reason=reason, only=only or None, dry_run=dry_run,
        )  # fmt: skip
    except DomainError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            raise
        return await _run_page(request, run_id, status_code=400, form=form, error=exc.detail)
    if dry_run:
        return await _run_page(request, run_id, planned=result, form=form)
    return await _run_page(request, run_id, done=result, form=form)

"""A job's progress, as the fragment its page polls (htmx, every second while it runs)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from utilipay.console.templating import render
from utilipay.console.visits import SignedIn, check_scope, host
from utilipay.staff import jobs

router = APIRouter()


@router.get("/jobs/{job_id}")
async def job_progress(request: Request, staff: SignedIn, job_id: int) -> Response:
    hub = host(request)
    async with hub.engine.connect() as conn:
        job = await jobs.find(conn, job_id)
    await check_scope(request, staff, job.biller_id, f"job {job_id}")
    return render(request, "job.html", job=job, interrupted=job.interrupted(hub.clock.now()))

"""Long work started from the console: it runs beside the request, its progress is
recorded, a refusal or a crash ends it as FAILED with a line for people, and utility
staff see only their own utility's jobs."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from tests.console.conftest import PASSWORD
from utilipay.clock import FrozenClock
from utilipay.console import jobs as runner
from utilipay.console.jobs import Outcome, Progress
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import jobs
from utilipay.staff import service as users
from utilipay.staff.jobs import JobStatus
from utilipay.staff.roles import Role, Staff
from utilipay.web.hub import Hub


def request_to(hub: Hub) -> Request:
    app = type("App", (), {"state": type("State", (), {"hub": hub})()})()
    return Request({"type": "http", "app": app, "headers": [], "method": "POST"})


async def test_work_runs_beside_the_request_and_its_end_is_recorded(
    hub: Hub, engine: AsyncEngine, clock: FrozenClock, people: dict[Role, str]
) -> None:
    async with engine.connect() as conn:
        ops = await users.find_by_name(conn, people[Role.OPERATIONS])
    assert ops is not None
    staff = Staff(ops.id, ops.username, ops.display_name, ops.role, None)
    release = asyncio.Event()

    async def slow(progress: Progress) -> Outcome:
        await progress(1, 3)
        await release.wait()
        return "3 rows imported", {"rows": 3}

    async def refused(progress: Progress) -> Outcome:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "line 2: amount is not a number")

    async def crashes(progress: Progress) -> Outcome:
        raise RuntimeError("boom")

    request = request_to(hub)
    first = await runner.launch(request, staff, kind="t", biller_id=None, title="A", work=slow)
    second = await runner.launch(request, staff, kind="t", biller_id=None, title="B", work=refused)
    third = await runner.launch(request, staff, kind="t", biller_id=None, title="C", work=crashes)
    await asyncio.sleep(0.1)
    async with engine.connect() as conn:
        running = await jobs.find(conn, first)
    assert (running.status, running.done, running.total) == (JobStatus.RUNNING, 1, 3)
    release.set()
    await runner.wait_for_all()
    async with engine.connect() as conn:
        done = [await jobs.find(conn, j) for j in (first, second, third)]
    assert [(j.status, j.outcome) for j in done] == [
        (JobStatus.SUCCEEDED, "3 rows imported"),
        (JobStatus.FAILED, "line 2: amount is not a number"),
        (JobStatus.FAILED, "failed unexpectedly; the hub's log has the details"),
    ]
    assert done[0].result == {"rows": 3}


async def test_another_utility_s_job_is_refused(
    console: str, engine: AsyncEngine, clock: FrozenClock, people: dict[Role, str]
) -> None:
    async with engine.begin() as conn:
        ops = await users.find_by_name(conn, people[Role.OPERATIONS])
        assert ops is not None
        unscoped = await jobs.start(
            conn, clock, kind="t", biller_id=None, title="platform", started_by=ops.id
        )
    async with httpx.AsyncClient(base_url=console) as client:
        form = await client.get("/console/sign-in")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        await client.post(
            "/console/sign-in",
            data={
                "username": people[Role.UTILITY_STAFF],
                "password": PASSWORD,
                "csrf_token": token,
            },
        )
        refused = await client.get(f"/console/jobs/{unscoped}")
        assert refused.status_code == 403

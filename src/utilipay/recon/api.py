"""The admin API of reconciliation (for the console): run a day, read runs, apply corrections.

- ``POST /admin/v1/recon/runs`` {date, channel?, biller?, cutoff_minutes?}: a run, 201
- ``GET /admin/v1/recon/runs?date=D``: the day's runs, newest first
- ``GET /admin/v1/recon/runs/{id}``: counts, sources, breaks and corrections
- ``POST /admin/v1/recon/runs/{id}/apply`` {reason, only?, dry_run?}: corrections applied

Reads need the scope ``ops:read``, the rest ``ops:write``. Refusals are problem+json like
the rest of the hub; who acts is the API token's name, which the audit log records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.responses import Response

from utilipay.access.auth import OpsReader, OpsWriter
from utilipay.billers.remote import RemoteBillers
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.host import Host
from utilipay.http.inputs import Day, IdPath, Reason, day_query, text_field
from utilipay.http.json import json_response, parse_body
from utilipay.recon import corrections, service
from utilipay.recon.classify import Action, Class


class ReconHost(Host, Protocol):
    """Applying corrections calls remote billers: the hub's pooled clients to them."""

    @property
    def remote_billers(self) -> RemoteBillers: ...


router = APIRouter(prefix="/admin/v1/recon", tags=["admin", "reconciliation"])
Code = Annotated[StrictStr, text_field(64)]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Day
    channel: Code | None = None
    biller: Code | None = None
    cutoff_minutes: Annotated[StrictInt, Field(ge=0, le=120)] = 15


class ApplyRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    reason: Reason
    only: Class | Action | None = None
    dry_run: StrictBool = False


@router.post(
    "/runs", status_code=201, responses=ADMIN_PROBLEMS, openapi_extra=json_body(RunRequest)
)
async def create_run(request: Request, actor: OpsWriter) -> Response:
    hub: ReconHost = request.app.state.hub
    body = parse_body(RunRequest, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        report = await service.run_day(
            conn, hub.clock, body.date, actor=actor, channel=body.channel, biller=body.biller,
            cutoff=timedelta(minutes=body.cutoff_minutes),
        )  # fmt: skip
    return json_response(report.as_json(), status_code=201)


@router.get("/runs", responses=ADMIN_PROBLEMS)
async def list_runs(
    request: Request, actor: OpsReader, day: Annotated[Day, day_query("date")]
) -> Response:
    hub: ReconHost = request.app.state.hub
    async with hub.engine.connect() as conn:
        runs = [service.jsonable(run) for run in await service.runs(conn, day=day)]
    return json_response({"date": day.isoformat(), "runs": runs})


@router.get("/runs/{run_id}", responses=ADMIN_PROBLEMS)
async def show_run(run_id: IdPath, request: Request, actor: OpsReader) -> Response:
    hub: ReconHost = request.app.state.hub
    async with hub.engine.connect() as conn:
        report = await service.report(conn, run_id)
    return json_response(report.as_json())


@router.post(
    "/runs/{run_id}/apply", responses=ADMIN_PROBLEMS, openapi_extra=json_body(ApplyRequest)
)
async def apply_run(run_id: IdPath, request: Request, actor: OpsWriter) -> Response:
    hub: ReconHost = request.app.state.hub
    body = parse_body(ApplyRequest, await request.body(), request.headers.get("content-type"))
    done = await corrections.apply(
        hub.engine, hub.clock, run_id, hub.remote_billers, actor=actor, reason=body.reason,
        only=body.only.value if body.only else None, dry_run=body.dry_run,
    )  # fmt: skip
    return json_response(
        {"run": run_id, "dry_run": body.dry_run, "corrections": [d.as_json() for d in done]}
    )

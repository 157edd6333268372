"""The admin API for meter readings: reads as JSON, a file as it is (a meters or reads CSV,
Green Button XML), and an account's daily usage.

A request is one transaction: a bad item or line refuses all of it, answered 400 with
every problem in ``errors`` (``item`` numbers the JSON reads from 1, ``line`` the file's
lines). Bodies are at most 64 KiB (the edge refuses more): bigger files go through
``utilipay readings import``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from utilipay.access.auth import OpsReader, OpsWriter
from utilipay.billers import repository as billers_repo
from utilipay.common.files import FileRejected, LineError
from utilipay.common.validation import PRINTABLE
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import ADMIN_PROBLEMS, json_body, problems, raw_body
from utilipay.http.host import Host
from utilipay.http.inputs import Day, day_query, text_field, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.readings import csvfile, files, repository
from utilipay.readings.schemas import ImportReport, ReadRow
from utilipay.readings.service import Provenance, import_reads

router = APIRouter(prefix="/admin/v1/readings", tags=["admin"])
FILE_TYPES = {"text/csv", "application/xml", "text/xml", "application/atom+xml"}
MAX_DAYS = 400  # a usage query covers at most about a year


class ReadIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    biller: Annotated[StrictStr, text_field(32)]
    meter: Annotated[StrictStr, text_field(64)]
    # BaseModel (an ABC) has a ``register`` method: the field takes the name as its alias
    register_: Annotated[
        StrictStr, Field(alias="register", min_length=1, max_length=16, pattern=PRINTABLE)
    ] = "total"
    read_at: Annotated[StrictStr, text_field(40)]
    # a string keeps every decimal as written; an integer is fine; a float is refused
    value: Annotated[StrictStr, text_field(24)] | StrictInt
    quality: Annotated[StrictStr, text_field(16)] = "actual"


class ReadsIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    reads: Annotated[list[ReadIn], Field(min_length=1)]


def _refused(exc: FileRejected, unit: str) -> DomainError:
    """A rejected import as problem+json: every bad item or line in ``errors``."""
    shown = "; ".join(f"{unit} {e.line}: {e.message}" for e in exc.errors[:10])
    return DomainError(
        ErrorCode.MALFORMED_REQUEST,
        f"{len(exc.errors)} bad {unit}(s), nothing imported: {shown}",
        errors=[{unit: e.line, "message": e.message} for e in exc.errors],
    )


def _rows(body: ReadsIn) -> tuple[list[ReadRow], list[LineError]]:
    rows, errors = [], []
    for item, read in enumerate(body.reads, start=1):
        values = {**read.model_dump(by_alias=True), "value": str(read.value)}
        try:
            rows.append(csvfile.read_row(item, values))
        except ValueError as exc:
            errors.append(LineError(item, str(exc)))
    return rows, errors


def _answer(report: ImportReport, unit: str) -> Response:
    body = report.as_json()
    for warning in body["warnings"]:
        warning[unit] = warning.pop("line")
    return json_response(body)


@router.post("", responses=ADMIN_PROBLEMS, openapi_extra=json_body(ReadsIn))
async def import_reads_json(request: Request, actor: OpsWriter) -> Response:
    """Cumulative register reads as JSON; all of them or none."""
    hub: Host = request.app.state.hub
    raw = await request.body()
    body = parse_body(ReadsIn, raw, request.headers.get("content-type"))
    origin = Provenance(f"API request by {actor}", hashlib.sha256(raw).hexdigest(), actor)
    rows, errors = _rows(body)
    try:
        async with hub.engine.begin() as conn:
            report = await import_reads(conn, hub.clock, rows, origin, errors=errors)
    except FileRejected as exc:
        raise _refused(exc, "item") from None
    return _answer(report, "item")


@router.post(
    "/files",
    responses=problems(404, 409, 415),
    openapi_extra=raw_body(*sorted(FILE_TYPES)),
)
async def import_file(
    request: Request,
    actor: OpsWriter,
    meter: Annotated[str | None, text_query(64)] = None,
    biller: Annotated[str | None, text_query(32)] = None,
    name: Annotated[str, text_query(200)] = "uploaded file",
) -> Response:
    """A meters CSV, a reads CSV, or Green Button XML (for ``meter``), sent as the body."""
    hub: Host = request.app.state.hub
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in FILE_TYPES:
        raise DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be one of {', '.join(sorted(FILE_TYPES))}",
        )
    data = await request.body()
    try:
        async with hub.engine.begin() as conn:
            report = await files.import_file(
                conn, hub.clock, data, source=name, actor=actor, meter_id=meter, biller=biller
            )
    except FileRejected as exc:
        raise _refused(exc, "line") from None
    return _answer(report, "line")


@router.get("/usage", responses=ADMIN_PROBLEMS)
async def daily_usage(
    request: Request,
    actor: OpsReader,
    biller: Annotated[str, text_query(32)],
    account: Annotated[str, text_query(64)],
    first: Annotated[Day, day_query("from")],
    last: Annotated[Day, day_query("to")],
) -> Response:
    """An account's usage per day and register, ``from`` to ``to`` (both included); a day
    is listed once every meter of the account has covered all of it."""
    if not 0 <= (last - first).days < MAX_DAYS:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"to must be from or later, at most {MAX_DAYS} days on"
        )
    hub: Host = request.app.state.hub
    async with hub.engine.connect() as conn:
        found = await billers_repo.by_code(conn, biller)
        if found is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller}")
        rows = await repository.daily_rows(conn, found.id, account, first, last)
    days: list[dict[str, Any]] = [
        {"day": d.isoformat(), "register": r, "quantity": str(q), "estimated": e}
        for d, r, q, e in rows
    ]
    return json_response({"biller": biller, "account": account, "days": days})

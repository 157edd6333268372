"""``GET /admin/v1/reports/{name}`` (scope ``ops:read``): a collection report as JSON, or
downloaded as CSV or XLSX (``?format=``). ``from`` and ``to`` are business days (both
included), ``biller`` a utility's code (with its branches), ``by`` the breakdown.

Bad input is problem+json: an unknown report names the reports there are (404), ``from``
after ``to`` is 400, a utility the reader may not see is 403 ``FORBIDDEN``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi import Query as QueryParam
from starlette.responses import Response

from utilipay.access.auth import OpsReader
from utilipay.collection import directory, render, service, xlsx
from utilipay.collection.directory import Breakdown
from utilipay.collection.schemas import Period, Scope
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.docs import ADMIN_PROBLEMS
from utilipay.http.host import Host
from utilipay.http.inputs import Day, day_query, text_path, text_query
from utilipay.http.json import json_response

router = APIRouter(prefix="/admin/v1/reports", tags=["admin"])


@router.get(
    "/{name}",
    response_class=Response,
    responses={
        200: {"description": "the report", "content": {"text/csv": {}, xlsx.MEDIA_TYPE: {}}},
        **ADMIN_PROBLEMS,
    },
)
async def read_report(
    request: Request,
    _: OpsReader,
    name: Annotated[str, text_path(32)],
    start: Annotated[Day, day_query("from")],
    end: Annotated[Day, day_query("to")],
    biller: Annotated[str | None, text_query(32)] = None,
    by: Breakdown | None = None,
    kind: Annotated[Literal["json", "csv", "xlsx"], QueryParam(alias="format")] = "json",
) -> Response:
    report_name = service.parse_name(name)
    if end < start:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"from {start} is after to {end}")
    hub: Host = request.app.state.hub
    async with hub.engine.connect() as conn:
        biller_id = None if biller is None else await directory.biller_id_of(conn, biller)
        found = await service.build_report(
            conn, hub.clock, report_name, Period(start, end), Scope(biller_id, None), by=by
        )
    filename = f"{report_name}-{found.period.start}-{found.period.end}"
    if kind == "csv":
        return Response(render.report_csv(found), media_type="text/csv; charset=utf-8",
                        headers=_attachment(f"{filename}.csv"))  # fmt: skip
    if kind == "xlsx":
        return Response(xlsx.workbook([found]), media_type=xlsx.MEDIA_TYPE,
                        headers=_attachment(f"{filename}.xlsx"))  # fmt: skip
    return json_response(render.report_json(found))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}

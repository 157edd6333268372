"""The admin API of early warning: the rules (read, add, change), the warnings (read,
acknowledge). An admin token is the platform's: it sees every utility. Each request is one
transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.responses import Response

from utilipay.access.auth import ConfigWriter, OpsReader, OpsWriter
from utilipay.http.docs import ADMIN_PROBLEMS, json_body
from utilipay.http.host import Host
from utilipay.http.inputs import text_field, text_query
from utilipay.http.json import json_response, parse_body
from utilipay.warnings import episodes
from utilipay.warnings import rules as rules_repo

router = APIRouter(prefix="/admin/v1/warnings", tags=["admin"])
Params = dict[Annotated[str, Field(max_length=64)], int | str]
Biller = Annotated[str | None, text_query(32)]


class WarningRuleIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    biller: Annotated[StrictStr, text_field(32)]
    kind: Annotated[StrictStr, text_field(64)]
    params: Params = {}
    enabled: StrictBool = True


class WarningRuleChange(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    params: Params | None = None
    enabled: StrictBool | None = None


class WarningAckIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    note: Annotated[StrictStr, text_field(1000)]


def _hub(request: Request) -> Host:
    hub: Host = request.app.state.hub
    return hub


def _rules(found: list[rules_repo.Rule]) -> Response:
    return json_response({"rules": [r.as_json() for r in found]})


@router.get("/rules", responses=ADMIN_PROBLEMS)
async def list_rules(request: Request, actor: OpsReader, biller: Biller = None) -> Response:
    async with _hub(request).engine.connect() as conn:
        only = None if biller is None else frozenset({await rules_repo.biller_id_of(conn, biller)})
        return _rules(await rules_repo.list_rules(conn, only))


@router.post(
    "/rules", status_code=201, responses=ADMIN_PROBLEMS, openapi_extra=json_body(WarningRuleIn)
)
async def add_rule(request: Request, actor: ConfigWriter) -> Response:
    """Add a rule of a kind (``utilipay warnings kinds``); missing parameters take defaults."""
    hub = _hub(request)
    body = parse_body(WarningRuleIn, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        biller_id = await rules_repo.biller_id_of(conn, body.biller)
        rule = await rules_repo.add_rule(conn, hub.clock, biller_id, body.kind, body.params,
                                         actor=actor, enabled=body.enabled)  # fmt: skip
    return json_response(rule.as_json(), status_code=201)


@router.patch(
    "/rules/{rule_id}", responses=ADMIN_PROBLEMS, openapi_extra=json_body(WarningRuleChange)
)
async def change_rule(rule_id: int, request: Request, actor: ConfigWriter) -> Response:
    """Change the parameters given (the others kept) and/or switch the rule on or off."""
    hub = _hub(request)
    body = parse_body(WarningRuleChange, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        rule = await rules_repo.update_rule(conn, hub.clock, rule_id, params=body.params,
                                            enabled=body.enabled, actor=actor)  # fmt: skip
    return json_response(rule.as_json())


@router.get("", responses=ADMIN_PROBLEMS)
async def list_warnings(
    request: Request,
    actor: OpsReader,
    biller: Biller = None,
    unacknowledged: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """The warnings, the latest first; ``open=true``: only the unacknowledged."""
    async with _hub(request).engine.connect() as conn:
        only = None if biller is None else frozenset({await rules_repo.biller_id_of(conn, biller)})
        found = await episodes.list_warnings(conn, only, unacknowledged=unacknowledged, limit=limit)
    return json_response({"warnings": [w.as_json() for w in found]})


@router.post(
    "/{warning_id}/acknowledge", responses=ADMIN_PROBLEMS, openapi_extra=json_body(WarningAckIn)
)
async def acknowledge(warning_id: int, request: Request, actor: OpsWriter) -> Response:
    hub = _hub(request)
    body = parse_body(WarningAckIn, await request.body(), request.headers.get("content-type"))
    async with hub.engine.begin() as conn:
        done = await episodes.acknowledge(conn, hub.clock, warning_id, body.note, actor=actor)
    return json_response(done.as_json())

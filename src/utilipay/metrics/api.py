"""``GET /metrics``: the backlogs and the payments' recent traffic with its anomalies
(``traffic``) in Prometheus' text format, for a token with the scope
``metrics:read`` (a Prometheus scrape job sends it as ``authorization: {credentials: …}``)."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from utilipay.access.auth import MetricsReader
from utilipay.channels.ratelimit import FailedAuthentications
from utilipay.http.host import Host
from utilipay.metrics.anomalies import Rules
from utilipay.metrics.service import backlogs, exposition
from utilipay.metrics.traffic import traffic


class MetricsHost(Host, Protocol):
    """The failed authentications this process counted (they are not in the database)."""

    @property
    def auth_failures(self) -> FailedAuthentications: ...


router = APIRouter(tags=["admin"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(request: Request, _: MetricsReader) -> Response:
    hub: MetricsHost = request.app.state.hub
    async with hub.engine.connect() as conn:
        now = hub.clock.now()
        snapshot = await backlogs(conn, now)
        recent = await traffic(conn, now, Rules(), None)
    body = exposition(snapshot, hub.auth_failures, recent)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

"""The channel API application (channel-api.md)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import URL
from starlette.exceptions import HTTPException
from starlette.responses import Response

from utilipay import __version__
from utilipay.access.api import router as audit_router
from utilipay.access.auth import warn_of_obsolete_admin_tokens
from utilipay.accounts.api import router as bills_router
from utilipay.autopay.api import router as mandates_router
from utilipay.billers.admin_api import router as admin_billers_router
from utilipay.billers.api import router as billers_router
from utilipay.billing.admin_api import router as late_fees_router
from utilipay.bindings.api import router as bindings_router
from utilipay.collection.api import router as reports_router
from utilipay.config import get_settings
from utilipay.console.mount import mount_console
from utilipay.db.engine import database_url
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5.mount import Handler, mount_h5
from utilipay.http.failures import answer_failure, keep_nonce, refusal
from utilipay.http.json import describe, json_response
from utilipay.http.openapi import document
from utilipay.http.problems import problem
from utilipay.logs import configure_logging
from utilipay.metrics.api import router as metrics_router
from utilipay.outlets.api import router as outlet_router
from utilipay.payments.admin_api import router as admin_router
from utilipay.payments.api import create_payment
from utilipay.payments.api import router as payments_router
from utilipay.payments.void_api import router as void_router
from utilipay.prepaid.api import router as prepaid_router
from utilipay.readings.api import router as readings_router
from utilipay.receipts.api import router as receipts_router
from utilipay.recon.api import router as recon_router
from utilipay.settlement.api import router as settlement_router
from utilipay.statements.api import router as statements_router
from utilipay.vouchers.api import redeem_voucher
from utilipay.vouchers.api import router as vouchers_router
from utilipay.warnings.api import router as warnings_router
from utilipay.web.access_log import AccessLog
from utilipay.web.edge import HubApp
from utilipay.web.hub import Hub

DESCRIPTION = """
The contract between payment channels and the utilipay hub.

Every request under `/v1` is signed: headers `X-Utilipay-Channel`,
`X-Utilipay-Timestamp` (Unix seconds), `X-Utilipay-Nonce` (16-64 of
`[A-Za-z0-9_-]`, never reused) and `X-Utilipay-Signature`, the lower-case hex
HMAC-SHA256 with the channel's secret of the method, the path with its query
string, the timestamp, the nonce and the hex SHA-256 of the body, joined by
newlines. Money is integer fen. Errors are `application/problem+json`.
"""


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    return await keep_nonce(request, problem(ErrorCode.MALFORMED_REQUEST, describe(exc.errors())))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        refused = problem(ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here")
        refused.headers.update(exc.headers or {})  # Allow: the methods that are
        return refused
    if exc.status_code == 404:
        return problem(ErrorCode.NOT_FOUND, f"no resource at {request.url.path}")
    return problem(ErrorCode.MALFORMED_REQUEST, str(exc.detail))


def freeze_start_up() -> None:
    """Keep what start-up built (about 196,000 objects: the app, its routes and models, the
    libraries) out of the garbage collector's full passes. It lives as long as the
    process, and a full pass over it takes 0.12 s, during which every request in flight
    waits (BENCHMARKS.md, "The collector's pauses")."""
    gc.collect()
    gc.freeze()


def create_app(hub: Hub | None = None, *, url: URL | None = None) -> HubApp:
    """The ASGI app. Without a ``hub`` it builds one at start-up, in the server's own event
    loop: on ``url``, or on the database the environment names."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = hub is None
        app.state.hub = hub or Hub.from_url(url or database_url(get_settings()))
        if owned:
            await app.state.hub.start()
            freeze_start_up()
        try:
            yield
        finally:
            if owned:
                # back to the collector, so that the process exits as one that never froze
                # (an interpreter that exits frozen frees none of it: one that had imported
                # the app printed nanobind's leak warnings for duckdb's objects)
                gc.unfreeze()
                await app.state.hub.stop()

    app = FastAPI(
        title="utilipay channel API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # Metrics and logs are ours (prometheus-client, structlog); FastAPI's native
        # OpenTelemetry layer would cost every request a tracer lookup.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    if hub is not None:
        app.state.hub = hub
    api_handlers: dict[type[Exception], Handler] = {
        Exception: answer_failure,
        DomainError: refusal,  # type: ignore[dict-item]
        RequestValidationError: _validation_error,  # type: ignore[dict-item]
        HTTPException: _http_error,  # type: ignore[dict-item]
    }
    mount_console(app, mount_h5(app, api_handlers))
    routers = (
        billers_router,
        bindings_router,
        prepaid_router,
        bills_router,
        payments_router,
        vouchers_router,
        outlet_router,
        void_router,
        receipts_router,
        mandates_router,
        statements_router,
        admin_router,
        admin_billers_router,
        late_fees_router,
        audit_router,
        readings_router,
        recon_router,
        settlement_router,
        reports_router,
        warnings_router,
        metrics_router,
    )
    for router in routers:
        app.include_router(router)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]

    app.get("/healthz", include_in_schema=False)(healthz)
    # The hot routes skip FastAPI's routing over every route, the console's and pages'
    # included: about 0.6 ms of CPU a request (BENCHMARKS.md, "tail latency").
    lanes = {
        ("POST", "/v1/payments"): create_payment,
        ("POST", "/v1/vouchers/redeem"): redeem_voucher,
        ("GET", "/healthz"): healthz,
    }
    return HubApp(app, lanes=lanes)


async def healthz(request: Request) -> Response:
    """The process is up (a load balancer's probe); nothing else is checked."""
    return json_response({"status": "ok"})


def app_from_environment() -> Any:
    """Factory for ``uvicorn --factory`` (each worker process builds its own hub), with the
    access log unless ``UTILIPAY_ACCESS_LOG=false``."""
    settings = get_settings()
    configure_logging(settings.log_level)
    warn_of_obsolete_admin_tokens()
    app = create_app()
    return AccessLog(app) if settings.access_log else app

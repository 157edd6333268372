"""How a refused or failed request is answered, wherever it happened (FastAPI or a fast lane).

A server-side failure is problem+json too: 503 ``SERVICE_UNAVAILABLE`` with
``Retry-After`` when the database is unreachable or dropped the connection, 500
``INTERNAL_ERROR`` otherwise. It is logged as one line naming the exception classes
only: an exception's message may quote SQL and its parameters, which are client data.
"""

from __future__ import annotations

import asyncpg
import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import Response

from utilipay.errors import DomainError, ErrorCode
from utilipay.http.problems import from_domain, problem

log = structlog.get_logger(__name__)
FAILED_KEY = "utilipay.failure_answered"
_DATABASE_GONE = (
    OSError,
    asyncpg.PostgresConnectionError,
    # 57P01 admin shutdown (pg_terminate_backend), 57P02 crash, 57P03 cannot connect now,
    # 57014 statement timeout: the database cannot answer now, the request may be retried
    asyncpg.exceptions.OperatorInterventionError,
    OperationalError,
    InterfaceError,
    TimeoutError,
)


async def keep_nonce(request: Request, response: Response) -> Response:
    """Keep the nonce of a refused request; a replay is refused as such, whatever else is wrong."""
    context = getattr(request.state, "utilipay_context", None)
    if context is None or response.status_code == 401:
        return response
    try:
        fresh = await context.record_nonce_after_failure()
    except Exception as exc:  # the refusal stands even if the nonce cannot be kept
        log.warning("nonce.record_failed", error=exception_names(exc))
        return response
    return response if fresh else problem(ErrorCode.UNAUTHENTICATED, "nonce already used")


async def refusal(request: Request, exc: DomainError) -> Response:
    return await keep_nonce(request, from_domain(exc))


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def database_down(exc: BaseException) -> bool:
    return any(
        isinstance(e, _DATABASE_GONE) or (isinstance(e, DBAPIError) and e.connection_invalidated)
        for e in _chain(exc)
    )


def exception_names(exc: BaseException) -> str:
    """``DBAPIError<-DataError``: what failed, without any message that could quote input."""
    return "<-".join(dict.fromkeys(type(e).__name__ for e in _chain(exc)))


def server_failure(exc: BaseException, path: str) -> Response:
    """The answer to an exception no handler expected, logged as one line."""
    down = database_down(exc)
    log.error("request.failed", path=path[:200], error=exception_names(exc), db_down=down)
    if down:
        return problem(ErrorCode.SERVICE_UNAVAILABLE, "the hub's database is unreachable")
    return problem(ErrorCode.INTERNAL_ERROR, "unexpected error, logged")


async def answer_failure(request: Request, exc: Exception) -> Response:
    """FastAPI's handler for ``Exception``: Starlette's outermost middleware calls it (before
    the edge could answer) and then re-raises, so the edge is told it was answered."""
    request.scope[FAILED_KEY] = True
    return server_failure(exc, request.url.path)

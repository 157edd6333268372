"""How a refused request is answered, wherever it was refused (FastAPI or a fast lane)."""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response

from utilipay.api.problems import from_domain, problem
from utilipay.errors import DomainError, ErrorCode

log = structlog.get_logger(__name__)


async def keep_nonce(request: Request, response: Response) -> Response:
    """Keep the nonce of a refused request; a replay is refused as such, whatever else is wrong."""
    context = getattr(request.state, "utilipay_context", None)
    if context is None or response.status_code == 401:
        return response
    try:
        fresh = await context.record_nonce_after_failure()
    except Exception as exc:  # the refusal stands even if the nonce cannot be kept
        log.warning("nonce.record_failed", error=repr(exc))
        return response
    return response if fresh else problem(ErrorCode.UNAUTHENTICATED, "nonce already used")


async def refusal(request: Request, exc: DomainError) -> Response:
    return await keep_nonce(request, from_domain(exc))

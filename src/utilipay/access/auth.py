"""Who an admin request comes from, and whether they may: a bearer API token with scopes.

Tokens are created with ``utilipay tokens create NAME --scope …`` (see ``tokens``). A
missing, unknown, revoked or expired token is 401; a token without the route's scope is
403 ``FORBIDDEN``. The token's name is the actor the audit log records. Each route
declares its scope with one of the aliases below, which also puts it in the OpenAPI
document (``security: [{"apiToken": ["ops:read"]}]``).

The check reads the token in a short transaction of its own, before the request's: a
request refused for its token opens no other. ``last_used_at`` is written at most once a
minute per token, so a Prometheus scrape costs one indexed read.
"""

from __future__ import annotations

import os
from typing import Annotated

import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from utilipay.access import service as tokens
from utilipay.access.scopes import Scope
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.host import Host

log = structlog.get_logger(__name__)
bearer = HTTPBearer(
    scheme_name="apiToken",
    description="An API token (`utilipay tokens create NAME --scope …`): `upt_…`",
    auto_error=False,  # refusals are problem+json, raised below
)


async def admin_actor(
    request: Request,
    required: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """FastAPI dependency: the token's name, once it holds every scope ``required``."""
    if credentials is None:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "an API token is required: Authorization: Bearer upt_…"
        )
    hub: Host = request.app.state.hub
    now = hub.clock.now()
    async with hub.engine.connect() as conn:
        token = await tokens.find(conn, credentials.credentials)
    if token is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown API token")
    refusal = token.refusal(now)
    if refusal is not None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, refusal)
    missing = [str(s) for s in required.scopes if s not in token.scopes]
    if missing:
        log.warning("admin.forbidden", token=token.name, path=request.url.path, missing=missing)
        raise DomainError(
            ErrorCode.FORBIDDEN, f"API token {token.name} lacks the scope {', '.join(missing)}"
        )
    if token.use_unmarked(now):
        async with hub.engine.begin() as conn:
            await tokens.mark_used(conn, token, now)
    return token.name


MetricsReader = Annotated[str, Security(admin_actor, scopes=[Scope.METRICS_READ])]
OpsReader = Annotated[str, Security(admin_actor, scopes=[Scope.OPS_READ])]
OpsWriter = Annotated[str, Security(admin_actor, scopes=[Scope.OPS_WRITE])]
SettlementWriter = Annotated[str, Security(admin_actor, scopes=[Scope.SETTLEMENT_WRITE])]
ConfigWriter = Annotated[str, Security(admin_actor, scopes=[Scope.CONFIG_WRITE])]


def warn_of_obsolete_admin_tokens() -> None:
    """``UTILIPAY_ADMIN_TOKENS`` is no longer read: say so where the server starts, rather
    than leave its holders wondering why they are refused."""
    if os.environ.get("UTILIPAY_ADMIN_TOKENS"):
        log.warning(
            "admin.obsolete_setting",
            detail="UTILIPAY_ADMIN_TOKENS is ignored: create scoped API tokens with "
            "`utilipay tokens create NAME --scope …`, then unset it",
        )

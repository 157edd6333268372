from __future__ import annotations

import httpx
import pytest

from tests.conftest import AdminHeaders
from utilipay.access.scopes import Scope


@pytest.fixture
async def admin(http: httpx.AsyncClient, admin_headers: AdminHeaders) -> httpx.AsyncClient:
    """The hub, as a Prometheus scrape job with its own token sees it."""
    http.headers.update(await admin_headers(Scope.METRICS_READ, name="prometheus"))
    return http

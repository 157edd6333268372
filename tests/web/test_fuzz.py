"""No operation of the HTTP surface answers 5xx, or anything its OpenAPI document does not
describe, whatever it is sent (``tests/fuzzing.py``).

A short run belongs to the suite; ``python3 dev.py fuzz`` runs a long one
(``UTILIPAY_FUZZ_REQUESTS`` requests at least) and prints its figures.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from requests.auth import AuthBase
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET, AdminHeaders, _settings
from tests.fuzzing import SignedAsChannel, WithHeaders, fuzz
from tests.helpers import bill_line, import_bills
from utilipay.access.scopes import Scope
from utilipay.clock import FrozenClock
from utilipay.web.server import free_port
from utilipay_tools.processes import environment_for, start_api


@pytest.fixture
async def admin_passes(admin_headers: AdminHeaders) -> dict[str, dict[str, str]]:
    """One admin pass per scope, each with a token of that scope alone: every route is
    tried by a token it must refuse (403) and by the one it serves."""
    return {f"admin {s.value}": await admin_headers(s, name=f"fuzz-{s.name}") for s in Scope}


@pytest.fixture
async def served(
    db_url: URL, engine: AsyncEngine, clock: FrozenClock, world: Any
) -> AsyncIterator[str]:
    """The hub in a uvicorn process of its own, as ``utilipay serve`` runs it, over the
    test database (its own process: the fuzzer's CPU is not the server's)."""
    await import_bills(engine, clock, bill_line("B202610-0001"), bill_line("B202611-0001"))
    port = free_port()
    # One address sends every pass: the slow-down of failing callers (tested on its own)
    # would otherwise refuse a third of the run with 429 before the routes are reached.
    env = {**environment_for(_settings(), db_url), "UTILIPAY_AUTH_FAILURE_LIMIT": "1000000000"}
    server = start_api(env, port, workers=1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_no_operation_answers_5xx_or_off_its_document(
    served: str, admin_passes: dict[str, dict[str, str]]
) -> None:
    passes: dict[str, AuthBase | None] = {
        "channel": SignedAsChannel("WECHAT", SECRET),
        **{name: WithHeaders(headers) for name, headers in admin_passes.items()},
        "unauthenticated": None,
    }
    tally = fuzz(
        served,
        passes,
        examples=int(os.environ.get("UTILIPAY_FUZZ_EXAMPLES", "10")),
        at_least=int(os.environ.get("UTILIPAY_FUZZ_REQUESTS", "0")),
    )
    print(f"\nfuzzing: {tally.summary()}")
    assert not tally.server_errors, tally.server_errors
    assert not tally.failures, "\n\n".join(f"{k}\n{v}" for k, v in tally.failures.items())

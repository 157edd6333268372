"""Tests run against a real PostgreSQL built by the migrations.

``UTILIPAY_DATABASE_URL`` picks a server; otherwise the embedded one starts in
a temporary home. The test database is dropped and rebuilt by ``alembic
upgrade`` once per session; every test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.utility import Utility, remote_utility
from utilipay.access import service as tokens
from utilipay.access.scopes import Scope
from utilipay.autopay import channel_debits
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Biller, Category, IntegrationMode
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock
from utilipay.config import Settings
from utilipay.db import embedded
from utilipay.db.engine import create_engine, database_url, drop_database
from utilipay.runtime.directory import Directory
from utilipay.runtime.install import upgrade
from utilipay.web.app import create_app
from utilipay.web.hub import Hub
from utilipay.web.server import ServerThread
from utilipay.worker.context import WorkerContext
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig
from utilipay_tools.client import ChannelClient

START = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
WATER_RULE = r"(0[1-9]|25)[0-9]{8}"
SECRET = "test-wechat-secret-0123456789"
OTHER_SECRET = "test-alipay-secret-0123456789"
REMOTE_ACCOUNT = "0300000001"


def pytest_configure(config: pytest.Config) -> None:
    # The width of a terminal is not the tests' business: those that read wide output set
    # COLUMNS themselves. pytest imports readline, which puts COLUMNS=80 and LINES=24 into
    # the environment its xdist workers inherit, and the hub's console fixes its width
    # from COLUMNS at import.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def _test_root() -> Path:
    root = Path(os.environ.get("UTILIPAY_TEST_HOME") or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    return root


def _settings() -> Settings:
    if os.environ.get("UTILIPAY_DATABASE_URL"):
        return Settings()
    return Settings(home=_test_root() / "utilipay-tests")


@pytest.fixture
def server_tmp_path() -> Iterator[Path]:
    """A tmp_path for a test whose hub starts an embedded PostgreSQL of its own, stopped
    afterwards if the test left it running. Not pytest's: run as root, the server runs as
    another user, for whom the library opens the folders above its data; each new pytest
    session of ours closes /tmp/pytest-of-<user> again (mode 0700), under a running server."""
    path = Path(tempfile.mkdtemp(prefix="server-", dir=_test_root()))
    yield path
    for pgdata in path.glob("*/pgdata"):
        if embedded.status(pgdata.parent).pid is not None:
            embedded.stop(pgdata.parent)
    shutil.rmtree(path)


@pytest.fixture(scope="session")
def db_url() -> URL:
    url = database_url(_settings(), database=f"utilipay_test_{os.getpid()}")
    asyncio.run(drop_database(url))
    upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(db_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url, pool_size=10)
    yield engine
    await engine.dispose()
    await drop_database(db_url)


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = current_schema()"
                    # reference data and records the migrations keep, not test data
                    " AND tablename NOT IN ('alembic_version', 'calendar_days',"
                    " 'schema_repeatables')"
                )
            )
        ).scalar_one()
        # replica role: the ledger's append-only triggers do not fire for this reset.
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
async def clean(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if "engine" not in request.fixturenames:
        yield
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    await _truncate_all(engine)
    yield


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction rolled back at the end, for service-level tests."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
async def world(engine: AsyncEngine, clock: FrozenClock) -> dict[str, object]:
    """Two channels and a hosted water biller, committed."""
    async with engine.begin() as c:
        wechat = await channels_service.add_channel(
            c, clock, code="WECHAT", secret=SECRET, actor="test"
        )
        alipay = await channels_service.add_channel(
            c, clock, code="ALIPAY", secret=OTHER_SECRET, actor="test"
        )
        water = await billers_service.add_biller(
            c,
            clock,
            code="BJWATER",
            name="北京自来水",
            category=Category.WATER,
            mode=IntegrationMode.HOSTED,
            account_rule=WATER_RULE,
            account_hint="10 digits, starts with 01-09 or 25",
            region="110101",
            actor="test",
        )
    return {"wechat": wechat, "alipay": alipay, "water": water}


@pytest.fixture
async def hub(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> AsyncIterator[Hub]:
    # Eight batches in flight: races between requests are races between transactions
    # (tests of batches themselves build their own).
    hub = Hub(engine=engine, clock=clock, directory=Directory(engine), payment_batches_in_flight=8)
    await hub.directory.reload()
    yield hub
    await hub.remote_billers.close()


@pytest.fixture
async def http(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def admin_token(
    engine: AsyncEngine, clock: FrozenClock, *scopes: Scope, name: str
) -> dict[str, str]:
    """The headers of a new API token ``name`` with ``scopes`` (every scope if none)."""
    async with engine.begin() as conn:
        _, secret = await tokens.create(conn, clock, name, scopes or list(Scope), actor="test")
    return {"Authorization": f"Bearer {secret}"}


class AdminHeaders(Protocol):
    async def __call__(self, *scopes: Scope, name: str | None = None) -> dict[str, str]: ...


@pytest.fixture
def admin_headers(engine: AsyncEngine, clock: FrozenClock) -> AdminHeaders:
    """Headers for an admin request with the scopes given (every scope if none), from a new
    token named ``name`` or admin-1, admin-2, …: ``await admin_headers(Scope.OPS_READ)``."""
    names = itertools.count(1)

    async def make(*scopes: Scope, name: str | None = None) -> dict[str, str]:
        return await admin_token(engine, clock, *scopes, name=name or f"admin-{next(names)}")

    return make


@pytest.fixture
async def admin(admin_headers: AdminHeaders) -> dict[str, str]:
    """Headers of an API token with every scope."""
    return await admin_headers(name="admin")


@pytest.fixture
def wechat(http: httpx.AsyncClient, clock: FrozenClock) -> ChannelClient:
    return ChannelClient(http, "WECHAT", SECRET, clock)


@pytest.fixture
def alipay(http: httpx.AsyncClient, clock: FrozenClock) -> ChannelClient:
    return ChannelClient(http, "ALIPAY", OTHER_SECRET, clock)


def water(world: dict[str, object]) -> Biller:
    biller = world["water"]
    assert isinstance(biller, Biller)
    return biller


def channel(world: dict[str, object], name: str) -> Channel:
    found = world[name]
    assert isinstance(found, Channel)
    return found


@pytest.fixture
def raw_dsn(db_url: URL) -> Iterator[tuple[str, dict[str, str]]]:
    """A libpq DSN for asyncpg connections the tests open themselves."""
    host = db_url.query.get("host")
    dsn = db_url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    yield dsn, ({"host": host} if isinstance(host, str) else {})


async def raw_connect(raw_dsn: tuple[str, dict[str, str]]) -> asyncpg.Connection:
    dsn, kwargs = raw_dsn
    return await asyncpg.connect(dsn, **kwargs)


@pytest.fixture
async def utility(
    engine: AsyncEngine, db_url: URL, clock: FrozenClock, hub: Any
) -> AsyncIterator[Utility]:
    """A remote utility (the biller simulator) with one bill, RB-1, on ``REMOTE_ACCOUNT``."""
    async with remote_utility(engine, db_url, clock, hub) as found:
        await found.bill(REMOTE_ACCOUNT, "RB-1", 4200, 50)
        yield found


@pytest.fixture
def wallet(clock: FrozenClock) -> Iterator[tuple[ChannelSim, str]]:
    """The WECHAT channel's side: debits taken (or declined) by the channel simulator."""
    sim = ChannelSim(ChannelSimConfig(secret=SECRET, timeout_delay=2.0), clock)
    with ServerThread(app_for(sim)) as url:
        yield sim, url


@pytest.fixture
async def autopay(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wallet: tuple[ChannelSim, str]
) -> AsyncIterator[WorkerContext]:
    clock.set(datetime(2026, 11, 23, 1, tzinfo=UTC))  # a Monday, 09:00 in Shanghai
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", debit_url=f"{wallet[1]}/debits", actor="t"
        )
    await hub.directory.reload()
    context = WorkerContext(engine=engine, clock=clock, directory=hub.directory)
    # the hub gives up on a channel's answer after 1 s here; the simulator's "timeout" takes 2
    await context.debit_http.aclose()
    context.debit_http = channel_debits.http_client(timeout=1.0)
    context.autopay.senders = replace(context.autopay.senders, http=context.debit_http)
    yield context
    await context.close_clients()

"""What every CLI command needs: settings, the database (upgraded if embedded), errors as text."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.config import Settings, get_settings
from utilipay.db.engine import create_engine, database_url
from utilipay.db.migrate import upgrade
from utilipay.errors import DomainError

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def default_actor() -> str:
    return os.environ.get("UTILIPAY_ACTOR") or getpass.getuser()


def ready_url(settings: Settings | None = None) -> URL:
    """The database URL; the embedded database is created and upgraded on first use."""
    settings = settings or get_settings()
    url = database_url(settings)
    if not settings.database_url:
        upgrade(url)
    return url


@asynccontextmanager
async def engine_for(url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=4)
    try:
        yield engine
    finally:
        await engine.dispose()


def run_in_transaction(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; a refusal becomes a message and exit code 1."""

    async def in_transaction(engine: AsyncEngine) -> T:
        async with engine.begin() as conn:
            return await work(conn)

    return run_with_engine(in_transaction)


def run_with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work``, which opens its own transactions (one per step, none held across a
    network call); a refusal becomes a message and exit code 1."""
    url = ready_url()

    async def main() -> T:
        async with engine_for(url) as engine:
            return await work(engine)

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None

"""What every CLI command needs: settings, the database (upgraded if embedded), errors as text."""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.config import Settings, get_settings
from utilipay.db.engine import create_engine, database_url
from utilipay.errors import DomainError
from utilipay.runtime.install import upgrade

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def default_actor() -> str:
    return os.environ.get("UTILIPAY_ACTOR") or getpass.getuser()


def describe_database(settings: Settings, url: URL) -> str:
    """Where the hub's data is, for people: the password never shown."""
    if settings.database_url:
        return url.set(drivername="postgresql").render_as_string(hide_password=True)
    return f"embedded PostgreSQL, database {url.database}, data in {settings.home / 'pgdata'}"


def http_address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def check_can_listen(host: str, port: int) -> None:
    """Refuse early, with a message, an address the server could not listen on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            err_console.print(f"[red]error:[/red] cannot listen on {host}:{port}: {exc.strerror}")
            raise typer.Exit(1) from None


def ready_url(settings: Settings | None = None) -> URL:
    """The database URL; the embedded database is created and upgraded on first use.

    Call it before any event loop runs (``run_with_engine`` does): upgrading runs a loop of
    its own, which ``asyncio.run`` refuses to start inside another."""
    settings = settings or get_settings()
    url = database_url(settings)
    if not settings.database_url:
        upgrade(url)
    return url


@asynccontextmanager
async def _engine_for(url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=4)
    try:
        yield engine
    finally:
        await engine.dispose()


def run_with_engine(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` on an engine of the hub's database; a refusal propagates (the caller
    words it). The database is made ready first, outside the event loop."""
    url = ready_url()

    async def main() -> T:
        async with _engine_for(url) as engine:
            return await work(engine)

    return asyncio.run(main())


def in_transaction(
    work: Callable[[AsyncConnection], Awaitable[T]],
) -> Callable[[AsyncEngine], Awaitable[T]]:
    """``work`` as one transaction of an engine, for ``run_with_engine``."""

    async def run(engine: AsyncEngine) -> T:
        async with engine.begin() as conn:
            return await work(conn)

    return run


def run_in_transaction(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; a refusal becomes a message and exit code 1."""
    return run_steps(in_transaction(work))


def run_steps(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work``, which opens its own transactions (one per step, none held across a
    network call); a refusal becomes a message and exit code 1."""
    try:
        return run_with_engine(work)
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None


def parse_day(text: str) -> date:
    """A business date typed on the command line: YYYY-MM-DD, or a one-line refusal."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} must be YYYY-MM-DD") from None

"""``utilipay db upgrade|status|stop``: the hub's database, and the embedded server's life.

The embedded server starts with the first hub process that needs it and stops when the
last one exits, however it exits (a process killed with SIGKILL is noticed by the next to
exit). When the last one was SIGKILLed, nothing is left to stop it: ``db status`` shows it
running for no one and ``db stop`` stops it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from utilipay.cli.runtime import console, describe_database, err_console
from utilipay.config import Settings, get_settings
from utilipay.db import embedded
from utilipay.db.engine import database_url
from utilipay.runtime.install import upgrade

db_app = typer.Typer(help="The hub's PostgreSQL database.")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create the database if needed and apply migrations up to REVISION; at the head, load
    the tariffs shipped with this version."""
    url = database_url(get_settings())
    shipped = upgrade(url, revision)
    console.print(f"database [bold]{url.database}[/bold] is at {revision}")
    for code, since in shipped.added if shipped else []:
        console.print(f"shipped tariff {code} from {since} loaded")


def _embedded_only(settings: Settings, what: str) -> None:
    if settings.database_url:
        described = describe_database(settings, database_url(settings))
        err_console.print(
            f"UTILIPAY_DATABASE_URL is set ({described}): the hub does not run that server, "
            f"so it does not {what} it",
            highlight=False,
        )
        raise typer.Exit(1)


@db_app.command("status")
def db_status() -> None:
    """Whether the embedded server runs, where, and which hub processes use it."""
    settings = get_settings()
    _embedded_only(settings, "report on")
    found = embedded.status(settings.home)
    if found.pid is None:
        console.print(f"embedded PostgreSQL: stopped (data in {found.pgdata})", highlight=False)
        return
    console.print(
        f"embedded PostgreSQL: running, pid {found.pid}, data in {found.pgdata}, "
        f"socket in {found.socket_dir}",
        highlight=False,
        soft_wrap=True,
    )
    for pid, command in found.users:
        console.print(f"  used by {pid}: {command}", highlight=False, soft_wrap=True)
    if not found.users:
        console.print("  used by no hub process: `utilipay db stop` stops it")


@db_app.command("stop")
def db_stop(
    force: Annotated[
        bool, typer.Option("--force", help="stop it even while hub processes use it")
    ] = False,
) -> None:
    """Stop the embedded server now (it stops by itself when the last hub process exits)."""
    settings = get_settings()
    _embedded_only(settings, "stop")
    found = embedded.status(settings.home)
    if found.pid is None:
        console.print("embedded PostgreSQL: not running")
        return
    if found.users and not force:
        users = ", ".join(str(pid) for pid, _ in found.users)
        err_console.print(
            f"[red]error:[/red] hub processes use it ({users}): stop them first, or --force",
            highlight=False,
        )
        raise typer.Exit(1)
    embedded.stop(settings.home)
    console.print(f"embedded PostgreSQL stopped (pid {found.pid})")

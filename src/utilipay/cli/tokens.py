"""``utilipay tokens …``: the API tokens of the admin API and ``/metrics``, with scopes.

Creating a token needs the database itself (this command), never an API call: whoever
can run it already holds the hub's keys, so there is no chicken-and-egg bootstrap token.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.access import service
from utilipay.access.scopes import MEANING, Scope
from utilipay.billers.connection import parse_duration
from utilipay.cli.runtime import console, default_actor, err_console, run_in_transaction
from utilipay.clock import SHANGHAI, Clock, SystemClock, to_shanghai_iso
from utilipay.common.validation import parse_instant

tokens_app = typer.Typer(help="API tokens (upt_…) for the admin API and /metrics, with scopes.")
# The clock that says what "now" is; tests set another.
clock: Clock = SystemClock()

Actor = Annotated[
    str | None,
    typer.Option(help="who is acting, for the audit log [default: $UTILIPAY_ACTOR or login]"),
]
SCOPES_HELP = "; ".join(f"{s}: {m}" for s, m in MEANING.items())


def _expiry(text: str) -> datetime:
    """'90d' from now, or a date (00:00 in Shanghai), or an instant (both hold a '-')."""
    if "-" in text:
        return parse_instant("expiry", text)
    return clock.now() + timedelta(seconds=parse_duration(text))


@tokens_app.command("create")
def tokens_create(
    name: str,
    scope: Annotated[list[Scope], typer.Option("--scope", help=f"repeatable. {SCOPES_HELP}")],
    expires: Annotated[
        str | None,
        typer.Option(help="90d (from now), 2027-06-30 (00:00 Shanghai) or an instant [never]"),
    ] = None,
    actor: Actor = None,
) -> None:
    """Create NAME's token. The token goes to stdout, alone, this once: redirect it to a
    file only its user reads (it is stored hashed and cannot be shown again)."""

    async def work(conn: AsyncConnection) -> tuple[service.ApiToken, str]:
        until = _expiry(expires) if expires else None
        return await service.create(conn, clock, name, scope, expires_at=until,
                                    actor=actor or default_actor())  # fmt: skip

    token, secret = run_in_transaction(work)
    until = f", expires {to_shanghai_iso(token.expires_at)}" if token.expires_at else ""
    err_console.print(
        f"token for [bold]{token.name}[/bold] ({', '.join(token.scopes)}{until}); shown this once:",
        highlight=False,
        soft_wrap=True,
    )
    print(secret)


@tokens_app.command("revoke")
def tokens_revoke(
    name: str, reason: Annotated[str, typer.Option()] = "", actor: Actor = None
) -> None:
    """Revoke NAME's token: it is refused from the next request on."""

    async def work(conn: AsyncConnection) -> service.ApiToken:
        return await service.revoke(conn, clock, name, actor=actor or default_actor(),
                                    reason=reason)  # fmt: skip

    run_in_transaction(work)
    console.print(f"token of [bold]{name}[/bold] revoked")


@tokens_app.command("list")
def tokens_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="also the revoked ones")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tokens by name: scopes, expiry, last use (to the minute); --json adds who created
    them and when. Times are Shanghai's."""

    async def work(conn: AsyncConnection) -> list[service.ApiToken]:
        return await service.all_tokens(conn, revoked=revoked)

    found = run_in_transaction(work)
    if as_json:
        print(json.dumps([t.as_json() for t in found], ensure_ascii=False))
        return
    table = Table("name", "scopes", "expires", "last used", *(["revoked"] if revoked else []))
    for t in found:
        row = [t.name, " ".join(t.scopes), _short(t.expires_at), _short(t.last_used_at)]
        table.add_row(*row, *([_short(t.revoked_at)] if revoked else []))
    console.print(table if found else "no tokens: create one with utilipay tokens create")


def _short(at: datetime | None) -> str:
    return "-" if at is None else f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"

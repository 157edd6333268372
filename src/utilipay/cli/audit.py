"""``utilipay audit list``: who did what, when and why, newest first."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.queries import MAX_PAGE, Page, audit_filter, entries
from utilipay.cli.runtime import console, run_in_transaction

audit_app = typer.Typer(help="The audit log: every administrative action, who, when and why.")


def _changes(entry: dict[str, Any]) -> str:
    before, after = entry["before"] or {}, entry["after"] or {}
    return ", ".join(f"{k}: {before.get(k)} → {after.get(k)}" for k in sorted({*before, *after}))


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option(help="only this actor's entries")] = None,
    object_ref: Annotated[
        str | None, typer.Option("--object", help="TYPE or TYPE:ID, e.g. biller:BJWATER")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="2026-11-22 (from 00:00 Shanghai) or an instant")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the next_cursor of a --json page")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Audit entries, newest first, at most LIMIT of them; times are Shanghai's."""

    async def work(conn: AsyncConnection) -> Page:
        wanted = audit_filter(actor, object_ref, since)
        return await entries(conn, wanted, cursor=cursor, limit=limit)

    page = run_in_transaction(work)
    if as_json:
        print(json.dumps({"entries": page.entries, "next_cursor": page.next_cursor},
                         ensure_ascii=False))  # fmt: skip
        return
    table = Table("at", "actor", "action", "object", "reason", "changes")
    for column in table.columns[:4]:  # short, and whole: the rest fold around them
        column.no_wrap = True
    table.columns[5].overflow = "fold"
    for e in page.entries:
        where = f"{e['object']['type']}:{e['object']['id']}"
        at = e["at"][:16].replace("T", " ")  # to the minute, in Shanghai
        table.add_row(at, e["actor"], e["action"], where, e["reason"], _changes(e))
    console.print(table if page.entries else "no audit entries match")
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False)

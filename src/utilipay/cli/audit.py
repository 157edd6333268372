"""``utilipay audit list``: who did what, when and why, newest first."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.audit.queries import MAX_PAGE, Page, audit_filter, entries
from utilipay.cli.runtime import console, run_in_transaction

audit_app = typer.Typer(help="The audit log: every administrative action, who, when and why.")


def _changes(entry: dict[str, Any]) -> str:
    before, after = entry["before"] or {}, entry["after"] or {}
    shown = [
        f"{k}: {before[k]} → {after.get(k)}" if k in before else f"{k}: {after[k]}"
        for k in sorted({*before, *after})
    ]
    return ", ".join(shown)


def _lines(entry: dict[str, Any]) -> list[str]:
    """An entry as a line (and its changes on the next): readable at any terminal width."""
    at = entry["at"][:16].replace("T", " ")  # to the minute, in Shanghai
    where = f"{entry['object']['type']}:{entry['object']['id']}"
    reason = f"  ({entry['reason']})" if entry["reason"] else ""
    changes = _changes(entry)
    head = f"{at}  {entry['actor']}  {entry['action']}  {where}{reason}"
    return [head, *([f"    {changes}"] if changes else [])]


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
    for entry in page.entries:
        for line in _lines(entry):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if not page.entries:
        console.print("no audit entries match")
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False, soft_wrap=True)

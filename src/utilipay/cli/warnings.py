"""``utilipay warnings …``: early warning of collection (回收预警) — the rules a utility keeps,
whom it tells, the pass that checks them, the warnings and their acknowledgement."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from utilipay.cli.admin import Actor
from utilipay.cli.runtime import console, default_actor, run_in_transaction, run_steps
from utilipay.clock import SystemClock, to_shanghai_iso
from utilipay.warnings import episodes
from utilipay.warnings import rules as rules_repo
from utilipay.warnings.evaluate import Evaluated, evaluate_all
from utilipay.warnings.kinds import KINDS

warnings_app = typer.Typer(help="Early warning of collection (回收预警): rules and warnings.")
rules_app = typer.Typer(help="A utility's early-warning rules.")
warnings_app.add_typer(rules_app, name="rules")

AsJson = Annotated[bool, typer.Option("--json")]
BillerOpt = Annotated[str, typer.Option("--biller", help="the utility's code")]
OneBiller = Annotated[str | None, typer.Option("--biller", help="only this utility's")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="a parameter as NAME=VALUE (repeatable)")
]


def _json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _params(given: list[str] | None) -> dict[str, int | str]:
    found: dict[str, int | str] = {}
    for item in given or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r} must be NAME=VALUE", param_hint="--param")
        found[name.strip()] = value.strip()
    return found


async def _only(conn: AsyncConnection, biller: str | None) -> frozenset[int] | None:
    return None if biller is None else frozenset({await rules_repo.biller_id_of(conn, biller)})


def _params_line(params: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _show_rules(found: list[rules_repo.Rule], as_json: bool) -> None:
    if as_json:
        _json([r.as_json() for r in found])
        return
    table = Table("rule", "biller", "kind", "parameters", "enabled", "changed by", title="rules")
    for r in found:
        table.add_row(str(r.id), str(r.biller_id), r.kind, _params_line(r.params),
                      "yes" if r.enabled else "no", r.updated_by)  # fmt: skip
    console.print(table)


def _said(found: list[rules_repo.Rule]) -> None:
    """What a change did, one line a rule (no table: a line a script can read)."""
    for r in found:
        state = "on" if r.enabled else "off"
        console.print(f"rule {r.id}: {r.kind} {_params_line(r.params)}, {state}",
                      highlight=False, soft_wrap=True)  # fmt: skip


@warnings_app.command("kinds")
def kinds(as_json: AsJson = False) -> None:
    """The kinds of rule, what each watches and its default parameters."""
    if as_json:
        _json([{"kind": name, "what": k.what, "defaults": k.params().model_dump()}
               for name, k in KINDS.items()])  # fmt: skip
        return
    table = Table("kind", "what it watches", "defaults", title="rule kinds")
    for name, k in KINDS.items():
        defaults = ", ".join(f"{n}={v}" for n, v in k.params().model_dump().items())
        table.add_row(name, k.what, defaults)
    console.print(table)


@rules_app.command("list")
def rules_list(biller: OneBiller = None, as_json: AsJson = False) -> None:
    """The rules of every utility, or of one."""

    async def work(conn: AsyncConnection) -> list[rules_repo.Rule]:
        return await rules_repo.list_rules(conn, await _only(conn, biller))

    _show_rules(run_in_transaction(work), as_json)


@rules_app.command("add")
def rules_add(
    biller: BillerOpt,
    kind: Annotated[str, typer.Option(help="see `utilipay warnings kinds`")],
    param: ParamOpt = None,
    disabled: Annotated[bool, typer.Option(help="add it switched off")] = False,
    actor: Actor = None,
) -> None:
    """Add a rule; parameters not given take the kind's defaults (audited)."""
    given = _params(param)

    async def work(conn: AsyncConnection) -> list[rules_repo.Rule]:
        biller_id = await rules_repo.biller_id_of(conn, biller)
        who = actor or default_actor()
        added = await rules_repo.add_rule(
            conn, SystemClock(), biller_id, kind, given, actor=who, enabled=not disabled
        )
        return [added]

    _said(run_in_transaction(work))


@rules_app.command("defaults")
def rules_defaults(biller: BillerOpt, actor: Actor = None) -> None:
    """Add a rule of every kind the utility has none of yet, with the default parameters."""

    async def work(conn: AsyncConnection) -> list[rules_repo.Rule]:
        biller_id = await rules_repo.biller_id_of(conn, biller)
        return await rules_repo.add_defaults(conn, SystemClock(), biller_id,
                                             actor=actor or default_actor())  # fmt: skip

    _said(run_in_transaction(work))


def _update(
    rule: int, params: dict[str, int | str] | None, enabled: bool | None, actor: str | None
) -> None:
    async def work(conn: AsyncConnection) -> list[rules_repo.Rule]:
        who = actor or default_actor()
        changed = await rules_repo.update_rule(
            conn, SystemClock(), rule, params=params, enabled=enabled, actor=who
        )
        return [changed]

    _said(run_in_transaction(work))


@rules_app.command("update")
def rules_update(
    rule: int,
    param: ParamOpt = None,
    enable: Annotated[bool, typer.Option("--enable", help="switch it on")] = False,
    actor: Actor = None,
) -> None:
    """Change a rule's parameters (those given) and/or switch it on (audited)."""
    given = _params(param)
    _update(rule, given or None, True if enable else None, actor)


@rules_app.command("disable")
def rules_disable(rule: int, actor: Actor = None) -> None:
    """Switch a rule off: its open warnings end at the next pass (audited)."""
    _update(rule, None, False, actor)


@warnings_app.command("contacts")
def contacts(
    biller: BillerOpt,
    email: Annotated[list[str] | None, typer.Option(help="an address (repeatable)")] = None,
    sms: Annotated[list[str] | None, typer.Option(help="a mobile number (repeatable)")] = None,
    clear: Annotated[bool, typer.Option(help="tell nobody")] = False,
    actor: Actor = None,
) -> None:
    """Whom the utility's warnings are sent to; with --email/--sms/--clear, set it (audited)."""
    wanted = [("email", e) for e in email or []] + [("sms", s) for s in sms or []]

    async def work(conn: AsyncConnection) -> list[tuple[str, str]]:
        biller_id = await rules_repo.biller_id_of(conn, biller)
        if not wanted and not clear:
            return await rules_repo.contacts(conn, biller_id)
        return await rules_repo.set_contacts(conn, SystemClock(), biller_id, wanted,
                                             actor=actor or default_actor())  # fmt: skip

    found = run_in_transaction(work)
    console.print(f"contacts of {biller}: " + (", ".join(f"{k} {a}" for k, a in found) or "none"))


@warnings_app.command("evaluate")
def evaluate(biller: OneBiller = None) -> None:
    """Check the rules now (the worker does it every quarter of an hour)."""

    async def work(engine: AsyncEngine) -> Evaluated:
        return await evaluate_all(engine, SystemClock(), biller)

    done = run_steps(work)
    console.print(
        f"{done.rules} rules of {done.utilities} utilities checked: "
        f"{done.opened} warnings opened, {done.cleared} ended"
    )


@warnings_app.command("list")
def warnings_list(
    biller: OneBiller = None,
    unacknowledged: Annotated[bool, typer.Option("--open", help="only unacknowledged")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 200,
    as_json: AsJson = False,
) -> None:
    """The warnings, the latest first."""

    async def work(conn: AsyncConnection) -> list[episodes.CollectionWarning]:
        only = await _only(conn, biller)
        return await episodes.list_warnings(conn, only, unacknowledged=unacknowledged, limit=limit)

    found = run_in_transaction(work)
    if as_json:
        _json([w.as_json() for w in found])
        return
    table = Table(
        "warning", "biller", "kind", "subject", "what", "opened", "state", title="warnings"
    )
    for w in found:
        state = "ended" if w.cleared_at else "active"
        if w.acknowledged_by:
            state += f", acknowledged by {w.acknowledged_by}: {w.note}"
        table.add_row(str(w.id), str(w.biller_id), w.kind, w.subject, w.summary(),
                      to_shanghai_iso(w.opened_at), state)  # fmt: skip
    console.print(table)


@warnings_app.command("ack")
def ack(
    warning: int,
    note: Annotated[str, typer.Option(help="what is done about it (required)")],
    actor: Actor = None,
) -> None:
    """Acknowledge a warning with a note (audited)."""

    async def work(conn: AsyncConnection) -> episodes.CollectionWarning:
        return await episodes.acknowledge(conn, SystemClock(), warning, note,
                                          actor=actor or default_actor())  # fmt: skip

    done = run_in_transaction(work)
    console.print(f"warning {done.id} acknowledged by {done.acknowledged_by}", highlight=False)

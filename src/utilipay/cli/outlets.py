"""``utilipay outlets …``, ``utilipay terminals …``, ``utilipay operators …``: an agent
channel's front line (channel-api.md §11), set up by the hub's operators. A terminal's
secret is printed once, alone on standard output (never in argv, never logged)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import console, default_actor, err_console, parse_day, run_in_transaction
from utilipay.clock import Clock, SystemClock
from utilipay.money import format_yuan
from utilipay.outlets import (
    deposits,
    figures,
    repository,
    service,
    shifts,
    statements,
    terminal_admin,
)
from utilipay.outlets.figures import Grouping
from utilipay.outlets.repository import Outlet, OutletFilter, Terminal
from utilipay.outlets.schemas import OperatorStatus, OutletKind, OutletStatus, TerminalType

outlets_app = typer.Typer(help="Outlets of agent channels: their float, deposits, status.")
terminals_app = typer.Typer(help="Terminals of outlets: each with its own secret.")
operators_app = typer.Typer(help="Operators (收费员) of outlets.")
clock: Clock = SystemClock()  # tests set another

Actor = Annotated[
    str | None,
    typer.Option(help="who is acting, for the audit log [default: $UTILIPAY_ACTOR or login]"),
]
ChannelOpt = Annotated[str, typer.Option("--channel", help="the agent channel's code")]
OutletOpt = Annotated[str, typer.Option("--outlet", help="the outlet's code")]
Reason = Annotated[str, typer.Option(help="why, for the audit log")]
AsJson = Annotated[bool, typer.Option("--json")]


_run = run_in_transaction


def _json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False))


@outlets_app.command("add")
def outlets_add(
    channel: ChannelOpt,
    code: Annotated[str, typer.Option(help="unique in the channel, e.g. SHOP-0001")],
    name: Annotated[str, typer.Option()],
    kind: Annotated[OutletKind, typer.Option()],
    region: Annotated[str, typer.Option()],
    low_threshold: Annotated[int, typer.Option(help="fen: below it the float is low")],
    owner_name: Annotated[str | None, typer.Option()] = None,
    owner_phone: Annotated[str | None, typer.Option()] = None,
    owner_email: Annotated[str | None, typer.Option()] = None,
    actor: Actor = None,
) -> None:
    """Add an outlet to an agent channel, with its float (ledger account and row at 0)."""
    added = _run(lambda conn: service.add_outlet(
        conn, clock, channel=channel, code=code, name=name, kind=kind, region=region,
        low_threshold=low_threshold, owner_name=owner_name, owner_phone=owner_phone,
        owner_email=owner_email, actor=actor or default_actor(),
    ))  # fmt: skip
    console.print(f"outlet [bold]{added.key}[/bold] added ({added.kind}); deposit reference "
                  f"{added.deposit_reference}", highlight=False)  # fmt: skip


@outlets_app.command("list")
def outlets_list(
    channel: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    low: Annotated[bool, typer.Option("--low", help="only floats below their threshold")] = False,
    as_json: AsJson = False,
) -> None:
    """Outlets with their float: balance, held, available, threshold (yuan), low, status."""
    where = OutletFilter(channel, region, low)
    found = _run(lambda conn: repository.outlets_of(conn, where))
    if as_json:
        _json([o.as_json() for o in found])
        return
    table = Table("outlet", "name", "kind", "region", "balance", "held", "available",
                  "threshold", "low", "status")  # fmt: skip
    for o in found:
        money = [format_yuan(v) for v in (o.balance, o.held, o.available, o.low_threshold)]
        table.add_row(o.key, o.name, o.kind, o.region, *money, "LOW" if o.low else "", o.status)
    console.print(table if found else "no outlets")


@outlets_app.command("show")
def outlets_show(channel: ChannelOpt, outlet: OutletOpt, as_json: AsJson = False) -> None:
    """One outlet: its float, owner, deposit reference, terminals, operators, deposits."""

    async def work(conn: AsyncConnection) -> tuple[Outlet, dict[str, list[object]]]:
        found = await service.find(conn, channel, outlet)
        listed = await repository.terminals_of(conn, outlet_id=found.id)
        return found, {
            "terminals": [t.as_json() for _, t in listed],
            "operators": [o.as_json() for o in await repository.operators_of(conn, found.id)],
            "deposits": [d.as_json() for d in await repository.deposits_of(conn, found.id)],
        }

    shown, parts = _run(work)
    if as_json:
        _json({**shown.as_json(), **parts})
        return
    console.print(f"[bold]{shown.key}[/bold] {shown.name} ({shown.kind}, {shown.region}, "
                  f"{shown.status})", highlight=False)  # fmt: skip
    console.print(
        f"float {format_yuan(shown.balance)} yuan, held {format_yuan(shown.held)}, "
        f"available {format_yuan(shown.available)}, low below "
        f"{format_yuan(shown.low_threshold)}{' — LOW' if shown.low else ''}",
        highlight=False,
    )
    console.print(f"deposit reference (附言): {shown.deposit_reference}", highlight=False)
    owner = [v for v in (shown.owner_name, shown.owner_phone, shown.owner_email) if v]
    console.print(f"owner: {', '.join(owner) or '-'}", highlight=False)
    for kind, items in parts.items():
        console.print(f"{kind}: {len(items)}")


@outlets_app.command("update")
def outlets_update(
    channel: ChannelOpt,
    outlet: OutletOpt,
    name: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    low_threshold: Annotated[int | None, typer.Option(help="fen")] = None,
    owner_name: Annotated[str | None, typer.Option(help="'' removes it")] = None,
    owner_phone: Annotated[str | None, typer.Option(help="'' removes it")] = None,
    owner_email: Annotated[str | None, typer.Option(help="'' removes it")] = None,
    reason: Reason = "",
    actor: Actor = None,
) -> None:
    """Change an outlet's name, region, low-float threshold or owner's contacts."""
    changed = _run(lambda conn: service.update_outlet(
        conn, clock, channel, outlet, name=name, region=region, low_threshold=low_threshold,
        owner_name=owner_name, owner_phone=owner_phone, owner_email=owner_email,
        actor=actor or default_actor(), reason=reason,
    ))  # fmt: skip
    console.print(f"outlet [bold]{changed.key}[/bold] updated")


def _set_status(
    channel: str, outlet: str, status: OutletStatus, reason: str, actor: str | None
) -> Outlet:
    who = actor or default_actor()
    return _run(
        lambda conn: service.set_status(conn, clock, channel, outlet, status, actor=who,
                                        reason=reason)
    )  # fmt: skip


@outlets_app.command("suspend")
def outlets_suspend(
    channel: ChannelOpt, outlet: OutletOpt, reason: Reason = "", actor: Actor = None
) -> None:
    """Suspend an outlet: its terminals are refused until it is resumed (reason required)."""
    changed: Outlet = _set_status(channel, outlet, OutletStatus.SUSPENDED, reason, actor)
    console.print(f"outlet [bold]{changed.key}[/bold] suspended")


@outlets_app.command("resume")
def outlets_resume(
    channel: ChannelOpt, outlet: OutletOpt, reason: Reason = "", actor: Actor = None
) -> None:
    """Resume a suspended outlet (reason required)."""
    changed: Outlet = _set_status(channel, outlet, OutletStatus.ACTIVE, reason, actor)
    console.print(f"outlet [bold]{changed.key}[/bold] resumed")


@outlets_app.command("deposit")
def outlets_deposit(
    channel: ChannelOpt,
    outlet: OutletOpt,
    amount: Annotated[int, typer.Option(help="fen")],
    bank_reference: Annotated[str, typer.Option(help="the bank's reference of the transfer")],
    by: Annotated[str, typer.Option("--by", help="who records it (the audit log's actor)")],
    reason: Reason = "",
) -> None:
    """Record a transfer to an outlet's float seen on the hub's bank account."""
    made = _run(lambda conn: deposits.record_deposit(
        conn, clock, channel=channel, outlet=outlet, amount=amount,
        bank_reference=bank_reference, actor=by, reason=reason,
    ))  # fmt: skip
    console.print(f"deposit of {format_yuan(made.amount)} yuan to {channel}.{outlet} recorded "
                  f"({made.bank_reference})", highlight=False)  # fmt: skip


@outlets_app.command("statement")
def outlets_statement(
    channel: ChannelOpt,
    outlet: OutletOpt,
    day: Annotated[date, typer.Option("--date", parser=parse_day, metavar="YYYY-MM-DD")],
    as_csv: Annotated[bool, typer.Option("--csv", help="the statement as CSV")] = False,
    as_json: AsJson = False,
) -> None:
    """An outlet's daily statement: opening float, each deposit, payment, void and
    commission with the balance after it, closing float."""

    async def work(conn: AsyncConnection) -> statements.Statement:
        where = await service.find(conn, channel, outlet)
        return await statements.statement(
            conn, outlet_id=where.id, outlet_code=where.code,
            float_account=where.float_account, day=day,
        )  # fmt: skip

    found = _run(work)
    if as_csv:
        sys.stdout.buffer.write(statements.to_csv(found))
        return
    if as_json:
        _json(found.as_json())
        return
    table = Table("time", "kind", "amount", "balance", "reference", "operator")
    table.add_row("", "opening", "", format_yuan(found.opening), "", "")
    for m in found.movements:
        table.add_row(m.at.isoformat(timespec="seconds"), m.kind, format_yuan(m.amount),
                      format_yuan(m.balance), m.reference, m.operator or "")  # fmt: skip
    table.add_row("", "closing", "", format_yuan(found.closing), "", "")
    console.print(table)


@outlets_app.command("figures")
def outlets_figures(
    first: Annotated[date, typer.Option("--from", parser=parse_day, metavar="YYYY-MM-DD")],
    last: Annotated[date, typer.Option("--to", parser=parse_day, metavar="YYYY-MM-DD")],
    by: Annotated[Grouping, typer.Option(help="group by outlet, region, operator or day")] = (
        Grouping.OUTLET
    ),
    channel: Annotated[str | None, typer.Option(help="one agent channel only")] = None,
    as_json: AsJson = False,
) -> None:
    """Payments, voids, commission, deposits and float turnover of the outlets, per
    outlet, region, operator or day, for the days FROM to TO (inclusive)."""
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}")
    found = _run(lambda conn: figures.figures(conn, first=first, last=last, by=by,
                                              channel=channel))  # fmt: skip
    if as_json:
        _json([f.as_json(by) for f in found])
        return
    table = Table(by.value, "payments", "amount", "voids", "voided", "commission", "deposits",
                  "turnover")  # fmt: skip
    for f in found:
        commission = "-" if f.commission is None else format_yuan(f.commission)
        turnover = "-" if f.turnover is None else str(f.turnover)
        amounts = (format_yuan(f.amount), str(f.voids), format_yuan(f.voided), commission)
        table.add_row(" / ".join(f.key), str(f.payments), *amounts, format_yuan(f.deposits),
                      turnover)  # fmt: skip
    console.print(table if found else "no outlet took or received anything in those days")


@outlets_app.command("cash-differences")
def outlets_cash_differences(
    channel: ChannelOpt,
    outlet: OutletOpt,
    since: Annotated[date | None, typer.Option(parser=parse_day, metavar="YYYY-MM-DD")] = None,
    as_json: AsJson = False,
) -> None:
    """The outlet's closed shifts whose counted cash was not what the payments and voids
    said (short: negative), newest first."""

    async def work(conn: AsyncConnection) -> list[shifts.Shift]:
        where = await service.find(conn, channel, outlet)
        return await shifts.shifts_with_differences(conn, outlet_id=where.id, since=since)

    found = _run(work)
    if as_json:
        _json([{"shift_id": f.shift_id, "operator": f.operator,
                "opened_at": f.opened_at.isoformat(), "closed_at": f.closed_at.isoformat(),
                "count": f.count, "amount": f.amount, "cash_expected": f.cash_expected,
                "cash_counted": f.cash_counted, "difference": f.difference, "voids": f.voids}
               for f in found])  # fmt: skip
        return
    table = Table("shift", "operator", "closed", "expected", "counted", "difference")
    for f in found:
        table.add_row(str(f.shift_id), f.operator, f.closed_at.isoformat(timespec="seconds"),
                      format_yuan(f.cash_expected), format_yuan(f.cash_counted),
                      format_yuan(f.difference))  # fmt: skip
    console.print(table if found else "every closed shift's cash was as expected")


@outlets_app.command("match-deposits")
def outlets_match_deposits(
    statement: Annotated[
        int | None, typer.Option(help="one import's id [default: every bank statement]")
    ] = None,
    as_json: AsJson = False,
    actor: Actor = None,
) -> None:
    """Credit the bank statements' lines that carry an outlet's deposit reference (done at
    each bank statement's import too; a line is credited once)."""
    report = _run(lambda conn: deposits.match_statement_deposits(
        conn, clock, import_id=statement, actor=actor or default_actor()))  # fmt: skip
    if as_json:
        _json(report.as_json())
        return
    console.print(f"{len(report.deposits)} deposit(s), {format_yuan(report.amount)} yuan; "
                  f"{report.already} line(s) credited before", highlight=False)  # fmt: skip
    for line in report.ambiguous:
        console.print(f"  [yellow]left for a person[/yellow] {line}", highlight=False)


@terminals_app.command("add")
def terminals_add(
    channel: ChannelOpt,
    outlet: OutletOpt,
    type: Annotated[TerminalType, typer.Option("--type")],
    label: Annotated[str, typer.Option()],
    actor: Actor = None,
) -> None:
    """Register a terminal: its id and secret are printed this once (the secret alone on
    standard output; redirect it to a file only its user reads)."""
    added, secret = _run(lambda conn: terminal_admin.add_terminal(
        conn, clock, channel=channel, outlet=outlet, type=type, label=label,
        actor=actor or default_actor()))  # fmt: skip
    _show_secret(added, "added")
    print(secret)


def _show_secret(terminal: Terminal, what: str) -> None:
    err_console.print(f"terminal [bold]{terminal.id}[/bold] {what}; its secret, shown only "
                      "now (keep it safe):", highlight=False)  # fmt: skip


@terminals_app.command("list")
def terminals_list(
    channel: Annotated[str | None, typer.Option()] = None,
    outlet: Annotated[str | None, typer.Option(help="with --channel")] = None,
    as_json: AsJson = False,
) -> None:
    """Terminals by outlet: type, label, status, rotation (never a secret)."""

    async def work(conn: AsyncConnection) -> list[tuple[str, Terminal]]:
        outlet_id = (await service.find(conn, channel or "", outlet)).id if outlet else None
        return await repository.terminals_of(conn, channel=channel, outlet_id=outlet_id)

    found = _run(work)
    if as_json:
        _json([{"outlet": key, **t.as_json()} for key, t in found])
        return
    table = Table("terminal", "outlet", "type", "label", "status", "previous secret")
    for key, t in found:
        table.add_row(t.id, key, t.type, t.label, t.status,
                      "accepted" if t.has_previous_secret else "")  # fmt: skip
    console.print(table if found else "no terminals")


@terminals_app.command("rotate")
def terminals_rotate(
    terminal_id: Annotated[str, typer.Argument(metavar="ID")],
    drop_previous: Annotated[
        bool, typer.Option(help="end a rotation: the previous secret is refused from now on")
    ] = False,
    reason: Reason = "",
    actor: Actor = None,
) -> None:
    """A new secret, printed once; the old one stays accepted until --drop-previous or the
    next rotation."""
    who = actor or default_actor()
    if drop_previous:
        _run(lambda conn: terminal_admin.drop_previous_secret(conn, clock, terminal_id, actor=who,
                                                         reason=reason))  # fmt: skip
        console.print(f"terminal [bold]{terminal_id}[/bold]: previous secret dropped")
        return
    rotated, secret = _run(lambda conn: terminal_admin.rotate_terminal(
        conn, clock, terminal_id, actor=who, reason=reason))  # fmt: skip
    _show_secret(rotated, "rotated (the previous secret stays accepted until dropped)")
    print(secret)


@terminals_app.command("revoke")
def terminals_revoke(
    terminal_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Reason = "",
    actor: Actor = None,
) -> None:
    """Revoke a terminal for good (reason required): its requests are refused (401)."""
    who = actor or default_actor()
    _run(
        lambda conn: terminal_admin.revoke_terminal(conn, clock, terminal_id, actor=who,
                                               reason=reason)
    )  # fmt: skip
    console.print(f"terminal [bold]{terminal_id}[/bold] revoked")


@operators_app.command("add")
def operators_add(
    channel: ChannelOpt,
    outlet: OutletOpt,
    code: Annotated[str, typer.Option(help='what the terminal sends as "operator"')],
    name: Annotated[str, typer.Option()],
    actor: Actor = None,
) -> None:
    """Add an operator (收费员) to an outlet."""
    added = _run(lambda conn: terminal_admin.add_operator(
        conn, clock, channel=channel, outlet=outlet, code=code, name=name,
        actor=actor or default_actor()))  # fmt: skip
    console.print(f"operator [bold]{added.code}[/bold] of {channel}.{outlet} added")


@operators_app.command("list")
def operators_list(channel: ChannelOpt, outlet: OutletOpt, as_json: AsJson = False) -> None:
    """An outlet's operators: code, name, status."""

    async def work(conn: AsyncConnection) -> list[repository.Operator]:
        return await repository.operators_of(conn, (await service.find(conn, channel, outlet)).id)

    found = _run(work)
    if as_json:
        _json([o.as_json() for o in found])
        return
    table = Table("code", "name", "status")
    for o in found:
        table.add_row(o.code, o.name, o.status)
    console.print(table if found else "no operators")


def _operator_status(
    channel: str, outlet: str, code: str, status: OperatorStatus, reason: str, actor: str | None
) -> None:
    _run(lambda conn: terminal_admin.set_operator_status(
        conn, clock, channel=channel, outlet=outlet, code=code, status=status,
        actor=actor or default_actor(), reason=reason))  # fmt: skip
    console.print(f"operator [bold]{code}[/bold] of {channel}.{outlet}: {status}")


OperatorCode = Annotated[str, typer.Option("--code")]


@operators_app.command("disable")
def operators_disable(
    channel: ChannelOpt, outlet: OutletOpt, code: OperatorCode, reason: Reason = "",
    actor: Actor = None,
) -> None:  # fmt: skip
    """Disable an operator: refused at the outlet's terminals from now on."""
    _operator_status(channel, outlet, code, OperatorStatus.DISABLED, reason, actor)


@operators_app.command("enable")
def operators_enable(
    channel: ChannelOpt, outlet: OutletOpt, code: OperatorCode, reason: Reason = "",
    actor: Actor = None,
) -> None:  # fmt: skip
    """Enable a disabled operator again."""
    _operator_status(channel, outlet, code, OperatorStatus.ACTIVE, reason, actor)

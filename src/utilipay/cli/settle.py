"""``utilipay settle …``: settle a business day to utilities (清分结算), read it, export its
file, and set where utilities are paid and what fees apply."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import console, default_actor, err_console, parse_day, run_in_transaction
from utilipay.clock import Clock, FrozenClock, SystemClock
from utilipay.money import format_yuan
from utilipay.outlets.schemas import OutletKind
from utilipay.settlement import config, files, payouts, service

settle_app = typer.Typer(help="Settlement (清分结算): what each utility is paid, per day.")


def _clock(now: str | None) -> Clock:
    if now is None:
        return SystemClock()
    try:
        instant = datetime.fromisoformat(now)
    except ValueError:
        raise typer.BadParameter(f"{now!r} must be an ISO instant") from None
    if instant.tzinfo is None:
        raise typer.BadParameter(f"{now!r} needs an offset, e.g. 2026-11-21T10:00:00+08:00")
    return FrozenClock(instant)


Day = Annotated[date, typer.Option("--date", parser=parse_day, help="the business day (Shanghai)")]
Biller = Annotated[str | None, typer.Option(help="a payee, or a group with its branches")]
AsJson = Annotated[bool, typer.Option("--json")]
Now = Annotated[str | None, typer.Option(help="as of this instant, e.g. 2026-11-23T10:00+08:00")]


@settle_app.command("run")
def settle_run(
    day: Day,
    biller: Biller = None,
    as_json: AsJson = False,
    hub_account: Annotated[
        str | None,
        typer.Option(
            envvar="UTILIPAY_SETTLEMENT_ACCOUNT",
            help="the hub's account payouts leave from [default: any bank statement]",
        ),
    ] = None,
    overdue_days: Annotated[int, typer.Option(min=0, help="payouts unconfirmed after")] = (
        payouts.DEFAULT_OVERDUE_DAYS
    ),
    now: Now = None,
) -> None:
    """Settle DATE, match open payouts against imported bank lines, list the overdue ones.
    Exit 1 when a payee could not be settled or a settled day now differs."""
    clock = _clock(now)

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        done = await service.settle_day(conn, clock, day, biller=biller, actor=default_actor())
        matched = await payouts.match(conn, clock, hub_account)
        late = await payouts.overdue(conn, clock, overdue_days)
        return {
            "settlements": [o.as_json() for o in done],
            "payouts_matched": [{"reference": m.reference, "status": m.status, "note": m.note}
                                for m in matched],
            "payouts_overdue": late,
        }  # fmt: skip

    result = run_in_transaction(work)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_run(result)
    if any(s["status"] in {"NO_ACCOUNT", "DIFFERS"} for s in result["settlements"]):
        raise typer.Exit(1)


def _print_run(result: dict[str, Any]) -> None:
    table = Table("payee", "date", "status", "gross", "refunds", "fees", "commission", "net")
    for s in result["settlements"]:
        amounts = (format_yuan(s[k]) for k in ("gross", "refunds", "fees", "commission", "net"))
        table.add_row(s["payee"], s["date"], s["status"], *amounts)
    console.print(table if result["settlements"] else "nothing to settle")
    for s in result["settlements"]:
        for difference in s["differences"]:
            err_console.print(f"{s['payee']}: {difference}", highlight=False)
    for m in result["payouts_matched"]:
        console.print(f"payout {m['reference']}: {m['status']} {m['note'] or ''}")
    for p in result["payouts_overdue"]:
        console.print(f"overdue: payout {p['reference']} ({format_yuan(p['amount'])} yuan)"
                      f" {p['status']} {p['note'] or ''}")  # fmt: skip


@settle_app.command("show")
def settle_show(day: Day, biller: Biller = None, as_json: AsJson = False) -> None:
    """The settlements written for DATE, with their lines per branch and payouts."""

    async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
        return await service.show_day(conn, day, biller=biller)

    found = run_in_transaction(work)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    figures = ("bills", "accruals", "refunds", "fees", "commission", "net")
    table = Table("payee", "branch", *figures, "payout")
    for s in found:
        status = s["payout"]["status"] if s["payout"] else "-"
        for line in s["lines"]:
            amounts = (format_yuan(line[k]) for k in figures)
            table.add_row(s["payee"], line["branch"], *amounts, status)
    console.print(table if found else f"nothing settled on {day}")


@settle_app.command("export")
def settle_export(
    day: Day,
    biller: Annotated[str, typer.Option(help="the payee")],
    kind: Annotated[str, typer.Option("--format", help="csv or xml (camt.054)")] = "csv",
    out: Annotated[Path | None, typer.Option(help="write here [default: standard output]")] = None,
) -> None:
    """The payee's settlement file for DATE."""
    if kind not in {"csv", "xml"}:
        raise typer.BadParameter(f"--format must be csv or xml, not {kind!r}")
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        return await service.one_settlement(conn, day, biller)

    found = run_in_transaction(work)
    data = files.to_csv(found) if kind == "csv" else files.to_camt054(found, clock.now())
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        console.print(f"{out}: {len(data)} bytes")


@settle_app.command("account")
def settle_account(
    biller: str,
    account_no: Annotated[str, typer.Option(help="the bank account number")],
    name: Annotated[str, typer.Option(help="the account's name")],
    bank: Annotated[str, typer.Option(help="the bank (and branch)")],
    mode: Annotated[
        config.Mode, typer.Option(help="a group: pay each branch, or sweep them to the group")
    ] = config.Mode.BRANCHES,
) -> None:
    """Where BILLER is paid."""
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> None:
        await config.set_account(conn, clock, biller, account_no=account_no, account_name=name,
                                 bank=bank, mode=mode, actor=default_actor())  # fmt: skip

    run_in_transaction(work)
    console.print(f"{biller}: paid to {account_no} ({name}, {bank}), mode {mode}")


@settle_app.command("fee")
def settle_fee(
    party: Annotated[config.Party, typer.Argument(help="biller (service fee) or channel")],
    code: str,
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="in force from this day")],
    rate_bp: Annotated[str, typer.Option(help="basis points of each payment, e.g. 6 or 2.5")] = "0",
    minimum: Annotated[int, typer.Option("--min", help="fen: the least the rate part costs")] = 0,
    maximum: Annotated[int | None, typer.Option("--max", help="fen: the most it costs")] = None,
    fixed: Annotated[int, typer.Option(help="fen per payment, on top")] = 0,
) -> None:
    """A fee rule of a biller or channel, per payment, from a day on."""
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> None:
        rule = config.fee_rule(start, rate_bp, minimum, maximum, fixed)
        await config.set_fee_rule(conn, clock, party, code, rule, actor=default_actor())

    run_in_transaction(work)
    console.print(f"{party} {code}: fee rule from {start}")


@settle_app.command("commission")
def settle_commission(
    biller: Annotated[str, typer.Argument(help="the utility that pays the commission")],
    outlet_kind: Annotated[OutletKind, typer.Option(help="the outlets it applies to")],
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="in force from this day")],
    rate_bp: Annotated[str, typer.Option(help="basis points of each payment, e.g. 30")] = "0",
    minimum: Annotated[int, typer.Option("--min", help="fen: the least the rate part pays")] = 0,
    maximum: Annotated[int | None, typer.Option("--max", help="fen: the most it pays")] = None,
    fixed: Annotated[int, typer.Option(help="fen per payment, on top")] = 0,
) -> None:
    """What a utility pays outlets of a kind per payment they collect, from a day on:
    credited to their floats by the day's settlement, deducted from the utility's net."""
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> None:
        rule = config.fee_rule(start, rate_bp, minimum, maximum, fixed)
        await config.set_commission_rule(
            conn, clock, biller, outlet_kind, rule, actor=default_actor()
        )

    run_in_transaction(work)
    console.print(f"{biller}: commission for {outlet_kind} outlets from {start}")

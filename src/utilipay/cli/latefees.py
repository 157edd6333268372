"""``utilipay late-fees …``: a hosted utility's late-fee (违约金) rules, a bill's late fee on
a day and how it comes about, and waivers (audited, with a reason)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import service as billers_service
from utilipay.billing import latefee_service as service
from utilipay.billing.latefees import DayBasis, LateFeeRule
from utilipay.cli.runtime import console, default_actor, parse_day, run_in_transaction
from utilipay.clock import Clock, SystemClock, business_date
from utilipay.money import format_yuan, parse_fen

late_fees_app = typer.Typer(help="Late fees (违约金) of hosted bills: rules, waivers, the fee.")
rules_app = typer.Typer(help="A utility's late-fee rules, effective-dated.")
late_fees_app.add_typer(rules_app, name="rules")
# The clock that says what "today" is (Asia/Shanghai); tests set another.
clock: Clock = SystemClock()

Biller = Annotated[str, typer.Option("--biller", help="the hosted utility's code")]
Day = Annotated[date, typer.Option(parser=parse_day, metavar="YYYY-MM-DD")]


def _caps(texts: list[str]) -> tuple[int | None, Decimal | None]:
    """``--cap 5000`` (fen) and/or ``--cap 30%`` (of the principal)."""
    fen: int | None = None
    percent: Decimal | None = None
    for given in texts:
        try:
            if given.endswith("%"):
                percent = Decimal(given[:-1])
            else:
                fen = parse_fen(given)
        except (ValueError, InvalidOperation):
            message = f"cap {given!r} must be fen (5000) or a percent (30%)"
            raise typer.BadParameter(message) from None
    return fen, percent


@rules_app.command("add")
def rules_add(
    biller: Biller,
    start: Annotated[date, typer.Option("--from", parser=parse_day, help="first day in force")],
    daily_per_mille: Annotated[str, typer.Option(help="‰ of the principal a day, e.g. 1 or 0.5")],
    end: Annotated[
        date | None, typer.Option("--to", parser=parse_day, help="last day in force [open]")
    ] = None,
    grace_days: Annotated[int, typer.Option(help="overdue days never charged")] = 0,
    cap: Annotated[
        list[str] | None, typer.Option(help="fen (5000) or percent of the principal (30%)")
    ] = None,
    basis: Annotated[DayBasis, typer.Option(help="count calendar or working days")] = (
        DayBasis.CALENDAR
    ),
    customer_class: Annotated[
        str | None, typer.Option("--class", help="only these customers [every class]")
    ] = None,
    reason: Annotated[str, typer.Option(help="why, for the audit log")] = "",
) -> None:
    """Add a rule; refused when it overlaps another of the utility's (both are named)."""
    cap_fen, cap_percent = _caps(cap or [])

    async def work(conn: AsyncConnection) -> LateFeeRule:
        rule = LateFeeRule(
            effective_from=start, effective_to=end,
            daily_per_mille=service.parse_decimal(daily_per_mille, "rate"), grace_days=grace_days,
            basis=basis, cap_fen=cap_fen, cap_percent=cap_percent,
            customer_class=customer_class,
        )  # fmt: skip
        return await service.add_rule(conn, clock, biller, rule, actor=default_actor(),
                                      reason=reason)  # fmt: skip

    stored = run_in_transaction(work)
    console.print(f"{biller}: late-fee {stored.describe()} added")


@rules_app.command("list")
def rules_list(
    biller: Biller, as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False
) -> None:
    """A utility's rules, oldest first."""

    async def work(conn: AsyncConnection) -> list[LateFeeRule]:
        found = await billers_service.hosted_biller(conn, biller, service.NEEDS)
        return await service.rules_of(conn, found.id)

    found = run_in_transaction(work)
    if as_json:
        console.print_json(json.dumps([service.rule_json(r) for r in found], ensure_ascii=False))
        return
    table = Table("rule", "class", "from", "to", "‰ a day", "grace", "basis", "cap")
    for r in found:
        caps = [format_yuan(r.cap_fen)] if r.cap_fen is not None else []
        caps += [f"{r.cap_percent}%"] if r.cap_percent is not None else []
        table.add_row(
            str(r.rule_id), r.customer_class or "every", str(r.effective_from),
            str(r.effective_to or ""), str(r.daily_per_mille), str(r.grace_days), r.basis.value,
            " / ".join(caps) or "none",
        )  # fmt: skip
    console.print(table)


@late_fees_app.command("show")
def late_fees_show(
    biller: Biller,
    bill: Annotated[str, typer.Option("--bill", help="the bill number")],
    on: Annotated[
        date | None, typer.Option(parser=parse_day, help="YYYY-MM-DD [default: today]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """A bill's late fee on a day: principal, days counted, rate, cap, waived, amount due."""
    day = on or business_date(clock.now())

    async def work(conn: AsyncConnection) -> service.BillLateFee:
        return await service.bill_fee(conn, biller, bill, day)

    found = run_in_transaction(work)
    if as_json:
        console.print_json(json.dumps(found.as_json(), ensure_ascii=False))
        return
    f = found.fee
    rule = found.rule.describe() if found.rule else "no rule in force on the due date"
    console.print(f"{biller} bill {bill} on {day} (due {found.due_date}"
                  f"{', paid' if found.paid else ''}): {rule}")  # fmt: skip
    console.print(f"  principal {format_yuan(f.principal)}, {f.days_overdue} days overdue, "
                  f"{f.days_charged} charged at {f.daily_per_mille}‰ a day"
                  f"{'' if f.cap is None else f', capped at {f.cap} fen'}")  # fmt: skip
    console.print(f"  computed {format_yuan(f.accrued)} + imported {format_yuan(f.imported)} "
                  f"− waived {format_yuan(f.waived)} = late fee {format_yuan(f.fee)}")  # fmt: skip
    console.print(f"  amount due {format_yuan(f.amount_due)}")


@late_fees_app.command("waive")
def late_fees_waive(
    biller: Biller,
    bill: Annotated[str, typer.Option("--bill", help="the bill number")],
    reason: Annotated[str, typer.Option(help="why (required, audited)")],
    amount: Annotated[int | None, typer.Option(help="fen to forgive")] = None,
    everything: Annotated[bool, typer.Option("--all", help="forgive the whole fee")] = False,
) -> None:
    """Forgive part or all of an unpaid bill's late fee as it stands today."""
    if (amount is None) == (not everything):
        raise typer.BadParameter("give either --amount or --all")

    async def work(conn: AsyncConnection) -> service.BillLateFee:
        return await service.waive(conn, clock, biller, bill, amount, actor=default_actor(),
                                   reason=reason)  # fmt: skip

    after = run_in_transaction(work)
    console.print(f"{biller} bill {bill}: late fee now {format_yuan(after.fee.fee)}, "
                  f"amount due {format_yuan(after.fee.amount_due)}")  # fmt: skip

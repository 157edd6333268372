"""``utilipay tariffs …``: load published tariffs, assign them, look at them, quote a charge."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.clock import Clock, SystemClock, business_date
from utilipay.errors import DomainError, ErrorCode
from utilipay.money import format_yuan
from utilipay.tariffs import service, store
from utilipay.tariffs.calculator import Charge, Usage
from utilipay.tariffs.model import ZERO, Tariff, TariffVersion, describe_rates

tariffs_app = typer.Typer(help="Tariffs (电价、水价): block, time-of-use and fixed charges.")
# The clock that says what "today" is (Asia/Shanghai); tests set another.
clock: Clock = SystemClock()


def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text} must be a number ≥ 0")
    return value


def _day(text: str) -> date:
    """YYYY-MM-DD, or YYYY-MM for the first day of the month."""
    try:
        return date.fromisoformat(text if len(text) != 7 else f"{text}-01")
    except ValueError:
        raise typer.BadParameter(f"{text!r} must be YYYY-MM or YYYY-MM-DD") from None


Quantity = Annotated[Decimal | None, typer.Option(parser=_quantity, metavar="UNITS")]
Day = Annotated[date | None, typer.Option(parser=_day, metavar="DATE")]


def _today() -> date:
    return business_date(clock.now())


def _in_force(tariff: Tariff, day: date) -> TariffVersion | None:
    return next((v for v in reversed(tariff.versions) if v.effective_from <= day), None)


@tariffs_app.command("list")
def tariffs_list() -> None:
    """Every tariff and the version in force today."""
    found = run_in_transaction(store.all_tariffs)
    today = _today()
    table = Table("code", "name", "unit", "versions", "in force since", "bands by")
    for t in found:
        current = _in_force(t, today)
        since = str(current.effective_from) if current else "not yet"
        period = current.band_period.value if current else ""
        table.add_row(t.code, t.name, t.unit.value, str(len(t.versions)), since, period)
    console.print(table)


@tariffs_app.command("show")
def tariffs_show(
    code: str,
    on: Annotated[
        date | None, typer.Option(parser=_day, help="YYYY-MM-DD [default: today]")
    ] = None,
) -> None:
    """A tariff's versions, the prices in force on a day, and who pays it."""

    async def work(conn: AsyncConnection) -> tuple[Tariff, list[tuple[str, str, date]]]:
        found = await store.all_tariffs(conn, code)
        if not found:
            raise DomainError(ErrorCode.NOT_FOUND, f"tariff {code} not found")
        return found[0], await store.assignments_of(conn, code)

    tariff, assigned = run_in_transaction(work)
    day = on or _today()
    console.print(f"[bold]{tariff.code}[/bold] {tariff.name} ({tariff.unit})")
    console.print("versions from " + ", ".join(str(v.effective_from) for v in tariff.versions))
    version = _in_force(tariff, day)
    if version is None:
        console.print(f"no version in force on {day}")
    else:
        _print_version(version, day)
    for biller, customer_class, since in assigned:
        console.print(f"assigned to {biller} {customer_class} from {since}")


def _print_version(version: TariffVersion, day: date) -> None:
    console.print(
        f"in force on {day}: the version from {version.effective_from}, "
        f"bands by {version.band_period}, fixed {format_yuan(version.fixed_monthly)} yuan a month"
    )
    if version.rates:
        console.print(f"register prices (yuan/{version.unit}): {describe_rates(version.rates)}")
    label = "adder" if version.rates else "price"
    table = Table("band", f"from ({version.unit})", "to", f"{label} (yuan/{version.unit})")
    for b in version.blocks:
        table.add_row(
            str(b.band), str(b.lower), "" if b.upper is None else str(b.upper), str(b.price)
        )
    if version.blocks:
        console.print(table)


@tariffs_app.command("load")
def tariffs_load(
    file: Annotated[
        Path | None, typer.Argument(help="a tariff TOML file [default: built-in]")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="who is loading, for the audit log")] = None,
) -> None:
    """Load published tariffs: all of the file or nothing; loading again changes nothing."""

    async def work(conn: AsyncConnection) -> service.LoadReport:
        return await service.load_tariffs(conn, clock, file, actor or default_actor())

    report = run_in_transaction(work)
    for code, since in report.added:
        console.print(f"added {code} from {since}")
    for code in report.renamed:
        console.print(f"renamed {code}")
    console.print(f"{len(report.added)} version(s) added, {len(report.unchanged)} unchanged")


@tariffs_app.command("assign")
def tariffs_assign(
    biller: str,
    tariff: Annotated[str, typer.Option("--tariff", help="tariff code")],
    since: Annotated[date, typer.Option("--from", parser=_day, metavar="DATE")],
    customer_class: Annotated[str, typer.Option("--class")] = "residential",
    actor: Annotated[str | None, typer.Option(help="who is assigning, for the audit log")] = None,
) -> None:
    """From a date, a biller's customer class pays a tariff."""

    async def work(conn: AsyncConnection) -> service.Assignment:
        return await service.assign_tariff(
            conn,
            clock,
            biller=biller,
            customer_class=customer_class,
            tariff_code=tariff,
            effective_from=since,
            actor=actor or default_actor(),
        )

    done = run_in_transaction(work)
    console.print(
        f"{done.biller} {done.customer_class} pays {done.tariff_code} "
        f"from {done.effective_from} ({done.outcome})"
    )


@tariffs_app.command("quote")
def tariffs_quote(
    tariff: str,
    usage: Quantity = None,
    period: Annotated[
        date | None,
        typer.Option(parser=_day, help="YYYY-MM: the version in force then [default: today]"),
    ] = None,
    used_before: Annotated[
        Decimal, typer.Option(parser=_quantity, help="usage earlier in the band period")
    ] = ZERO,
    peak: Quantity = None,
    flat: Quantity = None,
    valley: Quantity = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What a usage costs, band by band: the exact charge, rounded once to fen."""
    metered = _usage(usage, peak, flat, valley)
    day = period or _today()

    async def work(conn: AsyncConnection) -> tuple[TariffVersion, Charge]:
        return await service.quote(conn, tariff, day, metered, used_before)

    version, charge = run_in_transaction(work)
    if as_json:
        console.print_json(json.dumps(_as_json(version, charge)))
    else:
        _print_quote(version, charge)


def _usage(
    total: Decimal | None, peak: Decimal | None, flat: Decimal | None, valley: Decimal | None
) -> Usage:
    registers = (peak, flat, valley)
    if all(r is None for r in registers):
        if total is None:
            raise typer.BadParameter("give --usage, or --peak, --flat and --valley")
        return Usage(total)
    if any(r is None for r in registers):
        raise typer.BadParameter("give all of --peak, --flat and --valley, or none")
    by_register = Usage.by_register(*(r or ZERO for r in registers))
    if total is not None and total != by_register.total:
        raise typer.BadParameter(f"--usage {total} is not --peak + --flat + --valley")
    return by_register


def _yuan(exact_fen: Decimal) -> str:
    """Exact fen as exact yuan: 11719.2000 → 117.192 (fen are rounded once, in the total)."""
    return f"{exact_fen.scaleb(-2).normalize():f}"


def _print_quote(version: TariffVersion, charge: Charge) -> None:
    unit = version.unit
    console.print(
        f"[bold]{version.code}[/bold] version from {version.effective_from}, bands by "
        f"{version.band_period}; {charge.usage.total} {unit} after {charge.used_before}"
    )
    table = Table("line", f"from–to ({unit})", f"units ({unit})", "yuan/unit", "charge (yuan)")
    for r in charge.registers:
        table.add_row(str(r.register), "", str(r.units), str(r.price), _yuan(r.exact_fen))
    label = "adder" if version.rates else "band"
    for b in charge.bands:
        span = f"{b.start}–{b.end}"
        table.add_row(f"{label} {b.band}", span, str(b.units), str(b.price), _yuan(b.exact_fen))
    if version.fixed_monthly:
        table.add_row("fixed monthly", "", "", "", format_yuan(version.fixed_monthly))
    total = charge.fen + version.fixed_monthly
    table.add_row("[bold]total[/bold]", "", "", "", f"[bold]{format_yuan(total)}[/bold]")
    console.print(table)


def _as_json(version: TariffVersion, charge: Charge) -> dict[str, Any]:
    return {
        "tariff": version.code,
        "version_effective_from": version.effective_from.isoformat(),
        "unit": version.unit.value,
        "band_period": version.band_period.value,
        "used_before": str(charge.used_before),
        "usage": str(charge.usage.total),
        "registers": [
            {"register": r.register.value, "units": str(r.units), "price": str(r.price),
             "exact_fen": str(r.exact_fen)}
            for r in charge.registers
        ],
        "bands": [
            {"band": b.band, "lower": str(b.lower),
             "upper": None if b.upper is None else str(b.upper),
             "from": str(b.start), "to": str(b.end), "units": str(b.units),
             "price": str(b.price), "exact_fen": str(b.exact_fen)}
            for b in charge.bands
        ],
        "exact_fen": str(charge.exact_fen),
        "energy_fen": charge.fen,
        "fixed_monthly_fen": version.fixed_monthly,
        "total_fen": charge.fen + version.fixed_monthly,
    }  # fmt: skip

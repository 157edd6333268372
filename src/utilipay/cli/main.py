"""The ``utilipay`` command."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billing import csvfile
from utilipay.billing import service as billing_service
from utilipay.billing.schemas import ImportReport
from utilipay.cli.admin import billers_app, channels_app
from utilipay.cli.audit import audit_app
from utilipay.cli.autopay import accounts_app, autopay_app
from utilipay.cli.billing import billing_app
from utilipay.cli.channelsim import channel_sim
from utilipay.cli.database import db_app
from utilipay.cli.headend import head_end_app, head_end_sim
from utilipay.cli.operations import chaos, exceptions_app, statement, worker
from utilipay.cli.prepaid import prepaid_app
from utilipay.cli.readings import readings_app
from utilipay.cli.recon import recon_app
from utilipay.cli.recon_import import recon_import
from utilipay.cli.runtime import (
    check_can_listen,
    console,
    describe_database,
    err_console,
    http_address,
    ready_url,
    run_in_transaction,
)
from utilipay.cli.settle import settle_app
from utilipay.cli.sim import biller_sim
from utilipay.cli.tariffs import tariffs_app
from utilipay.cli.tokens import tokens_app
from utilipay.clock import SystemClock
from utilipay.config import get_settings
from utilipay.errors import DomainError
from utilipay.ledger.check import CheckResult, run_checks
from utilipay.ledger.service import balances
from utilipay.logs import configure_logging
from utilipay.money import format_yuan

app = typer.Typer(
    help="utilipay: a utility bill payment hub (生活缴费平台).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
bills_app = typer.Typer(help="Bills of hosted billers.")
ledger_app = typer.Typer(help="The double-entry ledger.")
bench_app = typer.Typer(help="Benchmarks (figures for BENCHMARKS.md).")
app.add_typer(db_app, name="db")
app.add_typer(channels_app, name="channels")
app.add_typer(billers_app, name="billers")
app.add_typer(bills_app, name="bills")
app.add_typer(billing_app, name="billing")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(autopay_app, name="autopay")
app.add_typer(accounts_app, name="accounts")
app.add_typer(prepaid_app, name="prepaid")
app.add_typer(tariffs_app, name="tariffs")
app.add_typer(readings_app, name="readings")
app.add_typer(head_end_app, name="head-end")
recon_app.command("import")(recon_import)
app.add_typer(recon_app, name="recon")
app.add_typer(settle_app, name="settle")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.command("worker")(worker)
app.command("statement")(statement)
app.command("biller-sim")(biller_sim)
app.command("channel-sim")(channel_sim)
app.command("head-end-sim")(head_end_sim)
app.command("chaos")(chaos)


@bills_app.command("import")
def bills_import(file: Path) -> None:
    """Import a bills CSV: all of it, or nothing and every bad line named."""
    try:
        read = csvfile.read_bills(file.read_bytes(), source=str(file))
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {file}: {exc.strerror}")
        raise typer.Exit(1) from None

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("importing bills", total=len(read.rows))

        async def work(conn: AsyncConnection) -> ImportReport:
            return await billing_service.import_bills(
                conn,
                SystemClock(),
                read.rows,
                source=str(file),
                progress=lambda n: progress.advance(task, n),
                line_errors=read.errors,
            )

        report = run_in_transaction(work)
    console.print(
        f"{report.bills_added} bills added, {report.bills_unchanged} already there; "
        f"{report.accounts_added} new accounts, {report.accounts_renamed} holders renamed"
    )


@app.command("check")
def check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Prove the books; exit 1 and name every violation if they do not hold."""
    results: list[CheckResult] = run_in_transaction(run_checks)
    failed = [r for r in results if not r.passed]
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "ok": not failed,
                    "checks": [
                        {"name": r.check.name, "passed": r.passed, "violations": r.violations}
                        for r in results
                    ],
                }
            )
        )
    else:
        for r in results:
            mark = "[green]ok[/green]" if r.passed else "[red]FAILED[/red]"
            console.print(f"{mark}  {r.check.description}")
            for v in r.violations:
                console.print(f"      {v}", highlight=False)
    if failed:
        raise typer.Exit(1)


@ledger_app.command("balances")
def ledger_balances() -> None:
    """Every ledger account's balance (debits positive, credits negative)."""
    table = Table("account", "owner", "balance (fen)", "yuan", title="ledger balances")
    for b in run_in_transaction(balances):
        table.add_row(b.code, b.owner, str(b.balance), format_yuan(b.balance))
    console.print(table)


@app.command("demo")
def demo() -> None:
    """The main job: start the hub and walk a customer's journey through its HTTP API."""
    from utilipay.demo.journey import run_demo  # noqa: PLC0415 (heavy; this command only)

    if not run_demo(console):
        raise typer.Exit(1)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="server processes")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="seed the demo channel and biller")] = False,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="a JSON line per request on stderr [default: on, or $UTILIPAY_ACCESS_LOG]",
        ),
    ] = None,
) -> None:
    """Serve the channel API."""
    import uvicorn  # noqa: PLC0415 (heavy; this command only)

    from utilipay.demo.seed import seed  # noqa: PLC0415

    settings = get_settings()
    url = ready_url(settings)
    if demo:
        run_in_transaction(lambda conn: seed(conn, SystemClock()))
    if access_log is not None:  # the worker processes read it from their environment
        os.environ["UTILIPAY_ACCESS_LOG"] = str(access_log).lower()
    logged = settings.access_log if access_log is None else access_log
    check_can_listen(host, port)
    console.print(
        f"listening on {http_address(host, port)} ({workers} server process(es)); "
        f"database: {describe_database(settings, url)}; access log {'on' if logged else 'off'}",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(
        "utilipay.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # ours (api/access_log.py) is structured, and leaves out queries
    )


@bench_app.command("payments")
def bench_payments(
    seconds: Annotated[int, typer.Option(help="length of each timed run")] = 20,
    rounds: Annotated[int, typer.Option(help="rounds of (payments, then pgbench)")] = 3,
    connections: Annotated[int, typer.Option(help="concurrent HTTP connections")] = 64,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 2,
    pgbench_clients: Annotated[int, typer.Option()] = 16,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Payments/s over HTTP with durable commits, against the same server's pgbench tps."""
    from utilipay.bench import payments as bench  # noqa: PLC0415 (heavy; this command only)

    config = bench.BenchConfig(
        seconds=seconds,
        rounds=rounds,
        connections=connections,
        workers=workers,
        pgbench_clients=pgbench_clients,
    )
    result = bench.run(get_settings(), config, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table(
        "round", "payments/s", "p50 / p90 / p99 ms", "errors", "pgbench tps", "ratio",
        title="utilipay bench payments",
    )  # fmt: skip
    for n, r in enumerate(result.rounds, 1):
        p = r.payments
        table.add_row(
            str(n),
            f"{p.per_second:,.0f}",
            f"{p.p50_us / 1000:.1f} / {p.p90_us / 1000:.1f} / {p.p99_us / 1000:.1f}",
            f"{p.status_errors + p.socket_errors}",
            f"{r.pgbench_tps:,.0f}",
            f"{r.ratio:.2f}",
        )
    console.print(table)
    m = result.machine
    console.print(
        f"median ratio {result.median.ratio:.2f}; {result.payments_in_database:,} payments "
        f"stored; books balanced: {result.books_balanced}; load: {result.load_generator}; "
        f"{m['cpus']} × {m['cpu_model']}, PostgreSQL {m['postgresql']}",
        highlight=False,
    )


@bench_app.command("autopay")
def bench_autopay(
    mandates: Annotated[
        int, typer.Option(help="active mandates, each with a new bill")
    ] = 1_000_000,
    send_for: Annotated[
        float, typer.Option(help="seconds of sending debits to the channel simulator")
    ] = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long the daily run takes to schedule the debits of N mandates (set-based), and
    how fast they are then sent and written off."""
    from utilipay.bench import autopay as autopay_bench  # noqa: PLC0415 (heavy; this command only)

    result = autopay_bench.run(get_settings(), mandates, send_for, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("figure", "value", title="utilipay bench autopay")
    table.add_row("active mandates, each with a new bill", f"{result.mandates:,}")
    table.add_row("scheduling", f"{result.schedule_seconds:.1f} s ({result.scheduled})")
    table.add_row("scheduling again (nothing new)", f"{result.rerun_seconds:.1f} s")
    table.add_row("baseline: bare inserts of as many rows", f"{result.baseline_seconds:.1f} s")
    table.add_row("scheduling ÷ baseline", f"{result.ratio:.2f}")
    table.add_row(
        "debits sent, taken and written off",
        f"{result.sent_per_second:,.0f}/s ({result.sent} in {result.send_seconds:.0f} s)",
    )
    table.add_row("seeding (not timed)", f"{result.seed_seconds:.0f} s")
    console.print(table)


@bench_app.command("prepaid")
def bench_prepaid(
    accounts: Annotated[int, typer.Option(help="prepaid accounts, each with usage")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long the daily accrual takes to settle N prepaid accounts (set-based)."""
    from utilipay.bench import prepaid as prepaid_bench  # noqa: PLC0415 (heavy; this command only)

    result = prepaid_bench.run(get_settings(), accounts, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("figure", "value", title="utilipay bench prepaid")
    table.add_row("prepaid accounts, each with a day's usage", f"{result.accounts:,}")
    for day, seconds in result.days:
        table.add_row(
            f"accrual of {day.day}",
            f"{seconds:.1f} s ({day.accounts:,} settled, {day.notices:,} warnings)",
        )
    table.add_row("baseline: a day's bare writes", f"{result.baseline_seconds:.1f} s")
    table.add_row("first day ÷ baseline", f"{result.ratio:.2f}")
    table.add_row("seeding (not timed)", f"{result.seed_seconds:.0f} s")
    console.print(table)


@bench_app.command("recon")
def bench_recon(
    rows: Annotated[str, typer.Option(help="sizes, comma-separated")] = "1000000,3000000,10000000",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long three-way matching takes on N hub payments against both statements (DuckDB)."""
    from utilipay.bench import recon as recon_bench  # noqa: PLC0415 (heavy; this command only)

    try:
        sizes = recon_bench.parse_sizes(rows)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--rows") from None
    result = recon_bench.run(sizes, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("rows", "generate", "match", "export", "correct", title="utilipay bench recon")
    for size in result.sizes:
        table.add_row(
            f"{size.rows:,}",
            f"{size.generate_seconds:.1f} s",
            f"{size.match_seconds:.1f} s",
            f"{size.export_seconds:.1f} s",
            "yes" if size.correct else "NO",
        )
    console.print(table)


@bench_app.command("recon-run")
def bench_recon_run(
    payments: Annotated[int, typer.Option(help="the day's payments")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long a whole `recon run` of a day takes, out of PostgreSQL and back, committed."""
    from utilipay.bench import recon_run as recon_run_bench  # noqa: PLC0415 (heavy; this command only)

    try:
        result = recon_run_bench.run(get_settings(), payments, say=err_console.print)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--payments") from None
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("figure", "value", title="utilipay bench recon-run")
    table.add_row("payments of the day", f"{result.payments:,}")
    for step, seconds in result.steps.items():
        table.add_row(f"  {step}", f"{seconds:.2f} s")
    table.add_row("the run, committed", f"{result.run_seconds:.1f} s")
    table.add_row("counts per class", ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))
    table.add_row("counts as injected", "yes" if result.correct else "NO")
    table.add_row("seeding (not timed)", f"{result.seed_seconds:.0f} s")
    console.print(table)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # Python's default for SIGTERM skips the exit handlers, and with them the embedded
    # server's: the last hub process to exit would leave it running.
    sys.exit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGHUP, _exit_on_sigterm)
    configure_logging(get_settings().log_level)
    try:
        app()
    except DomainError as exc:  # a refusal raised before a command's own handling
        err_console.print(f"[red]error:[/red] {exc.detail}", highlight=False)
        sys.exit(1)

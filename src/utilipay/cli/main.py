"""The ``utilipay`` command."""

from __future__ import annotations

import json
import os
import signal
import sys
from importlib.metadata import entry_points
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
from utilipay.cli.database import db_app
from utilipay.cli.headend import head_end_app
from utilipay.cli.latefees import late_fees_app
from utilipay.cli.operations import exceptions_app, statement, worker
from utilipay.cli.outlets import operators_app, outlets_app, terminals_app
from utilipay.cli.prepaid import prepaid_app
from utilipay.cli.readings import readings_app
from utilipay.cli.receipts import receipts_app
from utilipay.cli.recon import recon_app
from utilipay.cli.recon_import import recon_import
from utilipay.cli.reminders import reminders_app
from utilipay.cli.reports import reports_app
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
from utilipay.cli.tariffs import tariffs_app
from utilipay.cli.tokens import tokens_app
from utilipay.cli.users import users_app
from utilipay.cli.vouchers import vouchers_app
from utilipay.cli.warnings import warnings_app
from utilipay.clock import SystemClock
from utilipay.config import get_settings
from utilipay.errors import DomainError
from utilipay.ledger.check import CheckResult
from utilipay.ledger.service import balances
from utilipay.logs import configure_logging
from utilipay.money import format_yuan
from utilipay.runtime.books import check_books
from utilipay.runtime.sample import seed
from utilipay.runtime.sizing import max_connections, pools_warning, serve_processes

app = typer.Typer(
    help="utilipay: a utility bill payment hub (生活缴费平台).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
bills_app = typer.Typer(help="Bills of hosted billers.")
ledger_app = typer.Typer(help="The double-entry ledger.")
app.add_typer(db_app, name="db")
app.add_typer(channels_app, name="channels")
app.add_typer(billers_app, name="billers")
app.add_typer(outlets_app, name="outlets")
app.add_typer(terminals_app, name="terminals")
app.add_typer(operators_app, name="operators")
app.add_typer(bills_app, name="bills")
app.add_typer(billing_app, name="billing")
app.add_typer(late_fees_app, name="late-fees")
app.add_typer(ledger_app, name="ledger")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(autopay_app, name="autopay")
app.add_typer(accounts_app, name="accounts")
app.add_typer(prepaid_app, name="prepaid")
app.add_typer(reminders_app, name="reminders")
app.add_typer(tariffs_app, name="tariffs")
app.add_typer(readings_app, name="readings")
app.add_typer(head_end_app, name="head-end")
app.add_typer(warnings_app, name="warnings")
recon_app.command("import")(recon_import)
app.add_typer(recon_app, name="recon")
app.add_typer(settle_app, name="settle")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(vouchers_app, name="vouchers")
app.add_typer(receipts_app, name="receipts")
app.add_typer(reports_app, name="reports")
app.command("worker")(worker)
app.command("statement")(statement)
# Commands from outside the hub (the simulators, the demo, the benchmarks) join here, by
# their entry point: the hub's packages never import them.
for plugin in entry_points(group="utilipay.commands"):
    plugin.load()(app)


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
    results: list[CheckResult] = run_in_transaction(check_books)
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


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="server processes [default: one per usable CPU, their pools within half "
            "the database's max_connections]",
        ),
    ] = None,
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

    from utilipay.web.protocol import HubHttpProtocol  # noqa: PLC0415 (as uvicorn)

    settings = get_settings()
    url = ready_url(settings)
    if demo:
        run_in_transaction(lambda conn: seed(conn, SystemClock()))
    limit = run_in_transaction(max_connections)
    workers = workers or serve_processes(settings, url, limit)
    if warning := pools_warning(workers, limit, settings.pool_size):
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if access_log is not None:  # the worker processes read it from their environment
        os.environ["UTILIPAY_ACCESS_LOG"] = str(access_log).lower()
        get_settings.cache_clear()  # and one process builds the app here, from new settings
    logged = settings.access_log if access_log is None else access_log
    check_can_listen(host, port)
    console.print(
        f"listening on {http_address(host, port)} ({workers} server process(es)); "
        f"database: {describe_database(settings, url)}; access log {'on' if logged else 'off'}",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(
        "utilipay.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # ours (api/access_log.py) is structured, and leaves out queries
        http=HubHttpProtocol,  # httptools, each response in one write
    )


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

"""``utilipay bench …``: the benchmarks whose figures are in BENCHMARKS.md."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from utilipay.cli.runtime import console, err_console
from utilipay.config import get_settings
from utilipay_tools.cli.bench_http import bench_http
from utilipay_tools.cli.bench_latency import bench_latency
from utilipay_tools.cli.capacity import bench_capacity
from utilipay_tools.cli.measured import WORKERS_HELP, report, serve_workers

if TYPE_CHECKING:
    from utilipay_tools.bench.collection import CollectionBench
    from utilipay_tools.bench.payments import BenchResult
    from utilipay_tools.bench.recon_run import Measured, RunBench
    from utilipay_tools.bench.terminals import TerminalBenchResult

bench_app = typer.Typer(help="Benchmarks (figures for BENCHMARKS.md).")
bench_app.command("capacity")(bench_capacity)
bench_app.command("latency")(bench_latency)
bench_app.command("http")(bench_http)


@bench_app.command("payments")
def bench_payments(
    seconds: Annotated[int, typer.Option(help="length of each timed run")] = 20,
    rounds: Annotated[int, typer.Option(help="rounds of (payments, then pgbench)")] = 3,
    connections: Annotated[int, typer.Option(help="concurrent HTTP connections")] = 64,
    workers: Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)] = None,
    pgbench_clients: Annotated[int, typer.Option()] = 16,
    lines: Annotated[
        str, typer.Option(help="comma-separated, run in this order: channel, terminal, voucher")
    ] = "channel,terminal,voucher",
    outlets: Annotated[int, typer.Option(help="outlets the terminal line pays from")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Payments/s over HTTP with durable commits — the channel's, terminals' from their
    outlets' floats, voucher redemptions — each against the same server's pgbench tps."""
    from utilipay_tools.bench import payments as bench  # noqa: PLC0415 (heavy; this command only)

    chosen = tuple(line.strip() for line in lines.split(",") if line.strip())
    unknown = sorted(set(chosen) - set(bench.LINES))
    if not chosen or unknown or chosen[0] != "channel":
        raise typer.BadParameter(
            f"lines are {', '.join(bench.LINES)}, the channel's first; not {', '.join(unknown)}"
            if unknown
            else "the channel's line comes first (the headline ratio is its)",
            param_hint="--lines",
        )
    if outlets < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--outlets")
    config = bench.BenchConfig(
        seconds=seconds,
        rounds=rounds,
        connections=connections,
        workers=workers or serve_workers(),
        pgbench_clients=pgbench_clients,
        lines=chosen,
        outlets=outlets,
    )
    result = bench.run(get_settings(), config, say=err_console.print)
    report(result.as_json, lambda: _print_payments(result), result.faults, as_json=as_json)


def _print_payments(result: BenchResult) -> None:
    table = Table(
        "round", "line", "per second", "p50 / p90 / p99 ms", "errors", "pgbench tps around",
        "ratio",
        title="utilipay bench payments",
    )  # fmt: skip
    for n, r in enumerate(result.rounds, 1):
        for line, p in r.lines.items():
            table.add_row(
                str(n),
                line,
                f"{p.per_second:,.0f}",
                f"{p.p50_us / 1000:.1f} / {p.p90_us / 1000:.1f} / {p.p99_us / 1000:.1f}",
                f"{p.status_errors + p.socket_errors}",
                f"{r.pgbench_tps(line):,.0f}",
                f"{r.to_pgbench(line):.2f}",
            )
    console.print(table)
    m = result.machine
    medians = ", ".join(f"{line} {result.median_of(line):.2f}" for line in result.config.lines)
    console.print(
        f"median ratios {medians}; {result.payments_in_database:,} payments "
        f"stored; books balanced: {result.books_balanced}; load: {result.load_generator}; "
        f"{m['cpus']} × {m['cpu_model']}, PostgreSQL {m['postgresql']}",
        highlight=False,
    )


@bench_app.command("terminals")
def bench_terminals(
    seconds: Annotated[int, typer.Option(help="length of each timed run")] = 20,
    rounds: Annotated[int, typer.Option(help="rounds of the three runs, then pgbench")] = 3,
    connections: Annotated[int, typer.Option(help="connections; the one outlet's terminals")] = 64,
    workers: Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)] = None,
    pgbench_clients: Annotated[int, typer.Option()] = 16,
    outlets: Annotated[int, typer.Option(help="outlets the spread run pays from")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:  # fmt: skip
    """Terminal payments/s from one outlet's float and from many, each against the channel's
    payments/s and pgbench tps in the same round."""
    from utilipay_tools.bench import payments as bench  # noqa: PLC0415 (heavy; this command only)
    from utilipay_tools.bench import terminals as terminals_bench  # noqa: PLC0415

    if outlets < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--outlets")
    # three loads a round: fewer requests signed a second than ``bench payments``' 8,000,
    # still above the channel's rate on a fast host (a load that ran out is a fault)
    config = bench.BenchConfig(
        seconds=seconds, rounds=rounds, connections=connections,
        workers=workers or serve_workers(), pgbench_clients=pgbench_clients,
        max_rate=6000,
    )  # fmt: skip
    result = terminals_bench.run(get_settings(), config, outlets, say=err_console.print)
    report(result.as_json, partial(_print_terminals, result), result.faults, as_json=as_json)


def _print_terminals(result: TerminalBenchResult) -> None:
    from utilipay_tools.bench.terminals import KINDS  # noqa: PLC0415 (heavy; this command only)

    table = Table("round", "run", "payments/s", "p99 ms", "errors", "lock waiters",
                  "÷ channel", "÷ pgbench", title="utilipay bench terminals")  # fmt: skip
    for n, r in enumerate(result.rounds, 1):
        for kind, load in r.loads.items():
            p = load.result
            table.add_row(
                str(n), kind, f"{p.per_second:,.0f}", f"{p.p99_us / 1000:.1f}",
                f"{p.status_errors + p.socket_errors}", f"{load.lock_waiters:.1f}",
                f"{r.to_channel(kind):.2f}", f"{r.to_pgbench(kind):.2f}",
            )  # fmt: skip
    console.print(table)
    medians = ", ".join(f"{k} {result.median(k):.2f}" for k in KINDS[1:])
    console.print(
        f"median ratio to the channel: {medians}; {result.payments_in_database:,} payments "
        f"stored; books balanced: {result.books_balanced}; load: {result.load_generator}",
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
    processes: Annotated[
        int, typer.Option(min=1, help="also send from this many worker processes at once")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long the daily run takes to schedule the debits of N mandates (set-based), and
    how fast they are then sent and written off, by one worker process and by several."""
    from utilipay_tools.bench import autopay as autopay_bench  # noqa: PLC0415 (heavy; this command only)

    result = autopay_bench.run(get_settings(), mandates, send_for, processes, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("figure", "value", title="utilipay bench autopay")
    table.add_row("active mandates, each with a new bill", f"{result.mandates:,}")
    table.add_row("scheduling", f"{result.schedule_seconds:.1f} s ({result.scheduled})")
    table.add_row("scheduling again (nothing new)", f"{result.rerun_seconds:.1f} s")
    table.add_row("baseline: bare inserts of as many rows", f"{result.baseline_seconds:.1f} s")
    table.add_row("scheduling ÷ baseline", f"{result.ratio:.2f}")
    bare = result.bare.as_json()
    table.add_row(
        "baseline: bare debit requests, one process",
        f"{bare['requests_per_second']:,}/s, {bare['sender_cpu_ms_per_request']} ms CPU each",
    )
    for sent in (each.as_json() for each in result.sent):
        table.add_row(
            f"debits sent, taken and written off, {sent['processes']} process(es)",
            f"{sent['debits_sent_and_written_off_per_second']:,}/s ({sent['done']}); CPU ms a "
            f"debit: sender {sent['sender_cpu_ms_per_debit']}, simulator "
            f"{sent['simulator_cpu_ms_per_debit']}, PostgreSQL {sent['postgres_cpu_ms_per_debit']}",
        )
    updates = result.debit_updates
    table.add_row("debit row updates, of them HOT (no index written)",
                  f"{updates['updates']:,}, {updates['hot']:,}")  # fmt: skip
    table.add_row("seeding (not timed)", f"{result.seed_seconds:.0f} s")
    console.print(table)


@bench_app.command("prepaid")
def bench_prepaid(
    accounts: Annotated[int, typer.Option(help="prepaid accounts, each with usage")] = 1_000_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long the daily accrual takes to settle N prepaid accounts (set-based)."""
    from utilipay_tools.bench import prepaid as prepaid_bench  # noqa: PLC0415 (heavy; this command only)

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


@bench_app.command("vouchers")
def bench_vouchers(
    vouchers: Annotated[int, typer.Option(help="vouchers to issue")] = 1_000_000,
    redeem: Annotated[
        int, typer.Option(help="of them to redeem, each PIN twice at once")
    ] = 100_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issuing N vouchers and redeeming R of them concurrently: time, double redemptions."""
    from utilipay_tools.bench import vouchers as vouchers_bench  # noqa: PLC0415 (heavy; this command only)

    if not 0 < redeem <= vouchers:
        raise typer.BadParameter("must be 1 to --vouchers", param_hint="--redeem")
    result = vouchers_bench.run(get_settings(), vouchers, redeem, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("figure", "value", title="utilipay bench vouchers")
    for name, value in result.as_json().items():
        if name != "machine":
            table.add_row(name.replace("_", " "), f"{value:,}")
    console.print(table)


@bench_app.command("recon")
def bench_recon(
    rows: Annotated[str, typer.Option(help="sizes, comma-separated")] = "1000000,3000000,10000000",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long three-way matching takes on N hub payments against both statements (DuckDB)."""
    from utilipay_tools.bench import recon as recon_bench  # noqa: PLC0415 (heavy; this command only)

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


CPU_OF = {"server": "PostgreSQL's server", "bench_process": "this process (DuckDB's too)"}


@bench_app.command("recon-run")
def bench_recon_run(
    payments: Annotated[int, typer.Option(help="the day's payments")] = 1_000_000,
    keep: Annotated[
        bool, typer.Option("--keep", help="seed the day once, keep it and reconcile it again")
    ] = False,
    rounds: Annotated[
        int, typer.Option(min=1, help="runs of each way of reading the statement, in turn")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How long a whole `recon run` of a day takes, out of PostgreSQL and back, committed:
    the statement read from PostgreSQL, then from the file kept at its import."""
    from utilipay_tools.bench import recon_run as recon_run_bench  # noqa: PLC0415 (heavy; this command only)

    try:
        result = recon_run_bench.run(
            get_settings(), payments, say=err_console.print, keep=keep, rounds=rounds
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--payments") from None
    if as_json:
        console.print_json(data=result.as_json())
        return
    console.print(_recon_run_table(result))


def _recon_run_table(result: RunBench) -> Table:
    builds = list(result.runs)
    title = f"utilipay bench recon-run ({result.payments:,} payments; medians)"
    table = Table("figure", *(f"books from {b}" for b in builds), title=title)

    def row(name: str, figure: Callable[[Measured], float | None]) -> None:
        values = [result.median(b, figure) for b in builds]
        table.add_row(name, *("-" if v is None else f"{v:.2f} s" for v in values))

    for step in result.runs[builds[0]][0].steps:
        row(f"  {step}", partial(_step_seconds, step))
    row("the run, committed", lambda m: m.seconds)
    for whose, label in CPU_OF.items():
        row(f"  CPU of {label}", partial(_cpu_seconds, whose))
    ratios = result.ratios()
    table.add_row("kept ÷ PostgreSQL: CPU, wall", "", f"{ratios['cpu']}, {ratios['wall']}")
    counts = result.runs[builds[-1]][0].counts
    table.add_row("counts per class", "", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    table.add_row("counts as injected (every run)", "", "yes" if result.correct else "NO")
    for book, cpu_s in result.keep_cpu.items():
        table.add_row(f"the {book} file written once (CPU)", "", f"{cpu_s:.2f} s")
    table.add_row("seeding (not timed)", "", f"{result.seed_seconds:.0f} s")
    return table


def _step_seconds(step: str, measured: Measured) -> float:
    return measured.steps[step]


def _cpu_seconds(whose: str, measured: Measured) -> float | None:
    return measured.cpu[whose]


@bench_app.command("console")
def bench_console(
    payments: Annotated[int, typer.Option(help="payments over the last 90 days")] = 1_000_000,
    accounts: Annotated[int, typer.Option(help="customer accounts")] = 1_000_000,
    requests: Annotated[int, typer.Option(help="timed requests of each page")] = 200,
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="a console page to time (repeat; default: the dashboard)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """p50/p95/p99 of console pages over HTTP, signed in, with N payments and accounts."""
    from utilipay_tools.bench import console as console_bench  # noqa: PLC0415 (heavy; this command only)

    pages = url or list(console_bench.PAGES)
    if bad := [page for page in pages if not page.startswith("/console/")]:
        raise typer.BadParameter(f"not a console page: {', '.join(bad)}", param_hint="--url")
    result = console_bench.run(
        get_settings(), payments, accounts, pages, requests, say=err_console.print
    )
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table(
        "page", "p50 ms", "p95 ms", "p99 ms", "p95 ÷ static", "p95 ÷ SELECT 1",
        title=f"utilipay bench console ({result.payments:,} payments, "
        f"{result.accounts:,} accounts)",
    )  # fmt: skip
    for timing in [*result.pages, result.static, result.select_one]:
        baseline = timing in (result.static, result.select_one)
        table.add_row(
            timing.name,
            *(f"{timing.percentile(p):.1f}" for p in (50, 95, 99)),
            "" if baseline else f"{result.ratio(timing, result.static):.1f}",
            "" if baseline else f"{result.ratio(timing, result.select_one):.1f}",
        )
    console.print(table)
    m, yes = result.machine, {True: "yes", False: "NO"}
    console.print(
        f"p95 under {console_bench.TARGET_P95_MS:.0f} ms: {yes[result.fast_enough]}; "
        f"rollup equals a recount: {yes[result.rollup_matches]} (the recount took "
        f"{result.recount_seconds:.1f} s); loading took "
        f"{result.seed_seconds:.0f} s; {m['cpus']} × {m['cpu_model']}, "
        f"PostgreSQL {m['postgresql']}",
        highlight=False,
    )


@bench_app.command("history")
def bench_history(
    payments: Annotated[int, typer.Option(help="payments over the last 366 days")] = 1_000_000,
    payers: Annotated[
        int | None, typer.Option(help="payers they are spread over (default: payments / 100)")
    ] = None,
    requests: Annotated[int, typer.Option(help="timed requests of each page")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """p50/p95/p99 of a payer's history pages (GET /v1/payments?payer=…) over HTTP and by
    the service, with N payments of M payers, against two baselines."""
    from utilipay_tools.bench import history as history_bench  # noqa: PLC0415 (heavy; this command only)

    payers = payers or max(payments // 100, 1)
    if not 1 <= payers <= payments:
        raise typer.BadParameter("must be 1 to --payments", param_hint="--payers")
    if requests < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--requests")
    result = history_bench.run(get_settings(), payments, payers, requests, say=err_console.print)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table(
        "request", "p50 ms", "p95 ms", "p99 ms",
        title=f"utilipay bench history ({result.payments:,} payments, {result.payers:,} payers)",
    )  # fmt: skip
    for timing in [*result.pages, *result.baselines]:
        table.add_row(timing.name, *(f"{timing.percentile(p):.1f}" for p in (50, 95, 99)))
    console.print(table)
    m = result.machine
    console.print(
        f"p95 under {history_bench.TARGET_P95_MS:.0f} ms: "
        f"{'yes' if result.fast_enough else 'NO'}; loading took {result.seed_seconds:.0f} s; "
        f"{m['cpus']} × {m['cpu_model']}, PostgreSQL {m['postgresql']}",
        highlight=False,
    )


@bench_app.command("pages")
def bench_pages(
    accounts: Annotated[int, typer.Option(help="customer accounts (about 11 payments each)")] = (
        1_000_000
    ),
    requests: Annotated[int, typer.Option(help="timed requests of each page")] = 200,
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the database, and use a kept one of this size")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """p50/p95/p99 of the payer pages' server time (my accounts, an account's bills, the
    history, the usage chart) on a year of N accounts, against two baselines."""
    if accounts < 100:  # one in a hundred is prepaid: fewer would have none
        raise typer.BadParameter("must be at least 100", param_hint="--accounts")
    if requests < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--requests")
    from rich.progress import Progress  # noqa: PLC0415 (this command only)

    from utilipay_tools.bench import collection_data  # noqa: PLC0415 (heavy; this command only)
    from utilipay_tools.bench import pages as pages_bench  # noqa: PLC0415 (heavy; this command only)

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("generating", total=collection_data.steps() + 2)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        result = pages_bench.run(get_settings(), accounts, requests, keep, step)
    if as_json:
        console.print_json(data=result.as_json())
        return
    table = Table("page", "p50 ms", "p95 ms", "p99 ms",
                  title=f"utilipay bench pages ({result.accounts:,} accounts, "
                  f"{result.rows['payments']:,} payments)")  # fmt: skip
    for timing in [*result.pages, *result.baselines]:
        table.add_row(timing.name, *(f"{timing.percentile(p):.1f}" for p in (50, 95, 99)))
    console.print(table)
    m = result.machine
    console.print(
        f"p95 under {pages_bench.TARGET_P95_MS:.0f} ms: {'yes' if result.fast_enough else 'NO'}; "
        f"{m['cpus']} × {m['cpu_model']}, PostgreSQL {m['postgresql']}",
        highlight=False,
    )


@bench_app.command("collection")
def bench_collection(
    accounts: Annotated[int, typer.Option(help="customer accounts: 1000000, 3000000, 10000000…")],
    year: Annotated[int, typer.Option(help="the year generated")] = 2026,
    keep: Annotated[bool, typer.Option("--keep", help="keep the database afterwards")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A year of N accounts generated (bills, payments by every kind of channel, auto-pay,
    vouchers, top-ups), then each collection report and the overdue pass timed on it."""
    if accounts < 100:  # one in a hundred is prepaid: fewer would have none
        raise typer.BadParameter("must be at least 100", param_hint="--accounts")
    if not 2000 <= year <= 2100:
        raise typer.BadParameter("must be 2000 to 2100", param_hint="--year")
    from rich.progress import Progress  # noqa: PLC0415 (this command only)

    from utilipay_tools.bench import collection as collection_bench  # noqa: PLC0415 (heavy; this command only)

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("generating", total=collection_bench.STEPS)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        result = collection_bench.run(get_settings(), accounts, year, keep, step)
    if as_json:
        console.print_json(data=result.as_json())
        return
    _print_collection(result)


def _print_collection(result: CollectionBench) -> None:
    generated = result.generated
    table = Table("figure", "seconds", "target", title="utilipay bench collection")
    table.add_row(f"generating {generated.accounts:,} accounts' year (not timed)",
                  f"{generated.seconds:.0f}", "")  # fmt: skip
    table.add_row("aggregating the year's days", f"{result.aggregate_seconds:.1f}", "")
    for r in result.reports:
        table.add_row(
            f"report {r.name}, {r.span} {r.period.start}..{r.period.end}",
            " / ".join(f"{s:.2f}" for s in r.seconds),
            f"< {r.target:.0f} {'ok' if r.within_target else 'MISSED'}",
        )
    table.add_row("monthly analysis gathered", f"{result.analysis_seconds:.1f}", "")
    table.add_row("  and rendered (PDF, XLSX)", f"{result.rendering_seconds:.1f}", "")
    for p in result.overdue:
        table.add_row(f"overdue pass ({p.schedule}): {p.notices:,} notices",
                      f"{p.seconds:.1f}", "< 60")  # fmt: skip
        table.add_row("  baseline: as many bare event inserts", f"{p.baseline_seconds:.1f}", "")
        table.add_row("  pass ÷ baseline", f"{p.ratio:.2f}", "")
    console.print(table)
    rows = ", ".join(f"{name} {count:,}" for name, count in generated.rows.items())
    console.print(
        f"rows: {rows}; database {generated.database_bytes / 2**30:.1f} GiB"
        f"{' (kept)' if result.kept else ' (dropped)'}",
        highlight=False,
    )

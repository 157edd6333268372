"""The tools' commands, joined to ``utilipay`` through the ``utilipay.commands`` entry point
(``pyproject.toml``): the hub's command line never imports them."""

from __future__ import annotations

from typing import Annotated

import typer

from utilipay.cli.runtime import console
from utilipay_tools.cli.bench import bench_app
from utilipay_tools.cli.billersim import biller_sim
from utilipay_tools.cli.channelsim import channel_sim
from utilipay_tools.cli.chaos import chaos
from utilipay_tools.cli.headendsim import head_end_sim


def demo(
    keep_running: Annotated[
        bool,
        typer.Option("--keep-running", help="leave the hub and its console serving until Ctrl-C"),
    ] = False,
) -> None:
    """The main job: start the hub and walk a customer's journey through its HTTP API; then
    print the console's address and a demo user per role."""
    from utilipay_tools.demo.journey import run_demo  # noqa: PLC0415 (heavy; this command only)

    if not run_demo(console, keep_running=keep_running):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the tools' commands to ``utilipay``."""
    app.command("demo")(demo)
    app.command("biller-sim")(biller_sim)
    app.command("channel-sim")(channel_sim)
    app.command("head-end-sim")(head_end_sim)
    app.command("chaos")(chaos)
    app.add_typer(bench_app, name="bench")

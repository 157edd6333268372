"""``utilipay head-end set|commands`` and ``utilipay head-end-sim``: meter commands from the
command line, and a simulated head-end for demos and tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billers.connection import parse_duration
from utilipay.cli.admin import Actor
from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.cli.secret_input import (
    GenerateSecret,
    SecretFile,
    read_secret,
    secret_option,
)
from utilipay.clock import SystemClock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend import config as headend_config
from utilipay.headend.commands import CommandStatus, MeterCommand, list_commands
from utilipay.headend.config import HeadEnd

head_end_app = typer.Typer(help="Head-end systems: where disconnect and reconnect commands go.")
SIM_ENV = "UTILIPAY_HEAD_END_SIM_SECRET"  # the simulator's secret
FAULTS_EXAMPLE = "timeout=0.1,drop_response=0.05,error=0.05,accept_only=0.2"


def _seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except DomainError as exc:
        raise typer.BadParameter(exc.detail, param_hint=option) from None


@head_end_app.command("set")
def head_end_set(
    biller: str,
    url: Annotated[str | None, typer.Option(help="the head-end's base URL (https://)")] = None,
    secret: Annotated[
        str | None,
        secret_option("secret", "signs the hub's requests (≥16 chars); a new one rotates the old"),
    ] = None,
    secret_file: SecretFile = None,
    generate_secret: GenerateSecret = False,
    retire_previous_secret: Annotated[bool, typer.Option()] = False,
    connect_timeout: Annotated[str | None, typer.Option(help="[default: 3s]")] = None,
    total_timeout: Annotated[str | None, typer.Option(help="per call [default: 10s]")] = None,
    give_up_after: Annotated[
        str | None,
        typer.Option(help="an unacknowledged disconnect fails after this [default: 1h]"),
    ] = None,
    reason: Annotated[str, typer.Option()] = "",
    actor: Actor = None,
) -> None:
    """Set a biller's head-end (the first time with --url and --secret), audited."""
    connect = _seconds(connect_timeout, "--connect-timeout")
    total = _seconds(total_timeout, "--total-timeout")
    give_up = _seconds(give_up_after, "--give-up-after")
    new_secret = read_secret("secret", secret, secret_file, generate_secret)

    async def work(conn: AsyncConnection) -> HeadEnd:
        return await headend_config.configure(
            conn,
            SystemClock(),
            biller,
            url=url,
            secret=new_secret,
            retire_previous_secret=retire_previous_secret,
            connect_timeout=connect,
            total_timeout=total,
            give_up_after=None if give_up is None else timedelta(seconds=give_up),
            actor=actor or default_actor(),
            reason=reason,
        )

    head_end = run_in_transaction(work)
    console.print(
        f"head-end of [bold]{biller}[/bold]: {head_end.base_url} "
        f"(timeouts {head_end.connect_timeout:g} s / {head_end.total_timeout:g} s, "
        f"gives up after {head_end.give_up_after}; secrets: {len(head_end.accepted_secrets)})",
        highlight=False,
    )


@head_end_app.command("commands")
def head_end_commands(
    biller: str,
    status: Annotated[CommandStatus | None, typer.Option(help="only these")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """A biller's meter commands, the latest first."""

    async def work(conn: AsyncConnection) -> list[MeterCommand]:
        found = await billers_repo.by_code(conn, biller)
        if found is None:
            raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no biller {biller}")
        return await list_commands(conn, biller_id=found.id, status=status, limit=limit)

    commands = run_in_transaction(work)
    table = Table(
        "command", "meter", "account", "action", "seq", "status", "tries", "decided", "detail",
        title=f"meter commands of {biller}",
    )  # fmt: skip
    for c in commands:
        table.add_row(
            c.id, c.meter_id, c.account_no, c.action.value, str(c.sequence), c.status.value,
            str(c.attempts), to_shanghai_iso(c.decided_at), (c.detail or "")[:60],
        )  # fmt: skip
    console.print(table)

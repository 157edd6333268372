"""``utilipay users …``: the console's people, from the command line.

``users add`` makes the first administrator (after that, administrators manage users in
the console). The password never goes on the command line: ``--password -`` reads it
from standard input (a prompt without echo on a terminal), ``--password-file`` from a
file, ``--generate-password`` makes one and prints it once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers
from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.cli.secret_input import file_option, generate_option, required_secret, secret_option
from utilipay.clock import Clock, SystemClock, to_shanghai_iso
from utilipay.errors import DomainError, ErrorCode
from utilipay.staff import service
from utilipay.staff.roles import Role

users_app = typer.Typer(help="People of the web console (/console/): users with a role.")
clock: Clock = SystemClock()  # tests set another
PASSWORD_ENV = "UTILIPAY_USER_PASSWORD"  # noqa: S105 (the variable's name)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option(help="what the user may do in the console")],
    biller: Annotated[
        str | None, typer.Option(help="utility staff: the utility's code (its branches too)")
    ] = None,
    display_name: Annotated[str, typer.Option(help="shown in the console [the name]")] = "",
    password: Annotated[str | None, secret_option("password", "the password", PASSWORD_ENV)] = None,
    password_file: Annotated[Path | None, file_option("password")] = None,
    generate_password: Annotated[bool, generate_option("password")] = False,
    actor: Annotated[
        str | None, typer.Option(help="who is acting [$UTILIPAY_ACTOR or login]")
    ] = None,
) -> None:
    """Add a console user (at least 12 characters of password)."""
    secret = required_secret("password", password, password_file, generate_password, PASSWORD_ENV)

    async def work(conn: AsyncConnection) -> service.StaffUser:
        biller_id = None
        if biller is not None:
            found = await billers.by_code(conn, biller)
            if found is None:
                raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no utility {biller}")
            biller_id = found.id
        return await service.create_user(
            conn,
            clock,
            username=name,
            password=secret,
            role=role,
            biller_id=biller_id,
            display_name=display_name,
            actor=actor or default_actor(),
        )

    user = run_in_transaction(work)
    console.print(f"user [bold]{user.username}[/bold] ({user.role}) added", highlight=False)


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every console user, with role, scope and standing."""

    async def work(conn: AsyncConnection) -> list[service.StaffUser]:
        return await service.list_users(conn)

    found = run_in_transaction(work)
    rows = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "biller_id": u.biller_id,
            "second_factor": u.totp_enabled,
            "disabled": u.disabled_at is not None,
            "created_at": to_shanghai_iso(u.created_at),
        }
        for u in found
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("user", "role", "utility", "2FA", "disabled", "created")
    for r in rows:
        table.add_row(
            str(r["username"]),
            str(r["role"]),
            str(r["biller_id"] or ""),
            "yes" if r["second_factor"] else "",
            "yes" if r["disabled"] else "",
            str(r["created_at"]),
        )
    console.print(table)

"""The demo's people of the operator console: one user per role (the utility's staff of
the water utility), each with a password made now and printed once, so whoever ran the
demo can sign in at ``/console/`` and look at what the journey left behind."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers
from utilipay.clock import Clock
from utilipay.runtime.sample import BILLER
from utilipay.staff import service as users
from utilipay.staff.roles import Role

NAMES = {
    Role.PLATFORM_ADMIN: "demo-admin",
    Role.OPERATIONS: "demo-ops",
    Role.UTILITY_STAFF: "demo-water",
    Role.CUSTOMER_SERVICE: "demo-service",
    Role.AUDITOR: "demo-auditor",
}
PASSWORD_BYTES = 12  # 16 URL-safe characters: above the 12 the policy asks


@dataclass(frozen=True, slots=True)
class DemoUser:
    role: Role
    username: str
    password: str


async def add_console_people(conn: AsyncConnection, clock: Clock) -> list[DemoUser]:
    """One user per role, with a new password each; the demo's database is fresh."""
    water = await billers.by_code(conn, BILLER)
    if water is None:
        raise RuntimeError(f"the demo's utility {BILLER} is not seeded")
    people = []
    for role, name in NAMES.items():
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        await users.create_user(
            conn, clock, username=name, password=password, role=role,
            biller_id=water.id if role is Role.UTILITY_STAFF else None,
            display_name=f"{name} (demo)", actor="demo",
        )  # fmt: skip
        people.append(DemoUser(role, name, password))
    return people


def show_console(console: Console, base_url: str, people: list[DemoUser]) -> None:
    console.print(f"\n[bold]Operator console[/bold]: {base_url}/console/", highlight=False)
    table = Table("role", "user", "password (shown once)", title="Demo users, one per role")
    for person in people:
        table.add_row(person.role, person.username, person.password)
    console.print(table)

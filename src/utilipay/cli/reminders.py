"""``utilipay reminders …``: the reminders an account's payer chose (a person on the phone
asks support to change them) and a utility's defaults with its overdue schedule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import service as billers_service
from utilipay.bindings.reminders import ReminderChoice
from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.clock import SystemClock
from utilipay.http.json import describe
from utilipay.notify import choices
from utilipay.notify.settings import get_notify_settings

reminders_app = typer.Typer(help="Reminders the payer chooses, overdue notices (逾期提醒).")

INHERIT = "inherit"
Biller = Annotated[str, typer.Option("--biller", help="the utility's code, e.g. BJWATER")]
Account = Annotated[str, typer.Option("--account", help="the account number")]
Kinds = Annotated[
    str | None,
    typer.Option(help="issued,due_soon,overdue; 'none' for no reminder, 'inherit' to reset"),
]
Days = Annotated[str | None, typer.Option(help="days before the due date, 0-30, or 'inherit'")]
Means = Annotated[str | None, typer.Option(help="channel,sms,email; 'none', or 'inherit' to reset")]
Reason = Annotated[str, typer.Option(help="why, for the audit log")]
AsJson = Annotated[bool, typer.Option("--json")]


def _list(value: str) -> list[str] | None:
    if value == INHERIT:
        return None
    return [] if value == "none" else [v.strip() for v in value.split(",") if v.strip()]


def _patch(kinds: str | None, days_before: str | None, means: str | None) -> ReminderChoice:
    """The fields given, each a value or ``inherit`` (None); the others unchanged."""
    given: dict[str, object] = {}
    if kinds is not None:
        given["kinds"] = _list(kinds)
    if means is not None:
        given["means"] = _list(means)
    if days_before is not None:
        try:
            given["days_before"] = None if days_before == INHERIT else int(days_before)
        except ValueError:
            bad = f"--days-before {days_before!r}: a number or 'inherit'"
            raise typer.BadParameter(bad) from None
    try:
        return ReminderChoice.model_validate(given)
    except ValidationError as exc:
        raise typer.BadParameter(describe(exc.errors(include_url=False))) from None


def _print(out: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
        return
    for place, choice in out.items():
        if isinstance(choice, dict):
            shown = ", ".join(f"{k}={_shown(v)}" for k, v in choice.items())
        else:
            shown = _shown(choice)
        console.print(f"{place}: {shown}", highlight=False)


def _shown(value: object) -> str:
    if value is None:
        return INHERIT
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


async def _account(conn: AsyncConnection, biller: str, account: str) -> dict[str, object]:
    hosted = await billers_service.hosted_biller(conn, biller, "reminders")
    hosted.rule.check(hosted.code, account)
    force = await choices.in_force(
        conn, hosted.id, account, get_notify_settings().remind_days_before
    )
    defaults = await choices.utility_defaults(conn, hosted.id)
    return {
        "biller": hosted.code,
        "account": account,
        "chosen": (await choices.account_choice(conn, hosted.id, account)).as_json(),
        "utility": defaults.choice.as_json(),
        "in_force": force.account.as_json(),
        "overdue_days": list(defaults.overdue_days),
    }


@reminders_app.command("show")
def reminders_show(biller: Biller, account: Account, as_json: AsJson = False) -> None:
    """The account's own choice, its utility's default and the choice in force."""

    async def work(conn: AsyncConnection) -> dict[str, object]:
        return await _account(conn, biller, account)

    _print(run_in_transaction(work), as_json)


@reminders_app.command("set")
def reminders_set(
    biller: Biller,
    account: Account,
    kinds: Kinds = None,
    days_before: Days = None,
    means: Means = None,
    reason: Reason = "",
    as_json: AsJson = False,
) -> None:
    """Change the account's choice: the options given, the others as they were (audited)."""
    patch = _patch(kinds, days_before, means)

    async def work(conn: AsyncConnection) -> dict[str, object]:
        hosted = await billers_service.hosted_biller(conn, biller, "reminders")
        await choices.change_account_choice(
            conn, SystemClock(), hosted, account, patch, actor=default_actor(), reason=reason
        )
        return await _account(conn, biller, account)

    _print(run_in_transaction(work), as_json)


@reminders_app.command("defaults")
def reminders_defaults(
    biller: Biller,
    kinds: Kinds = None,
    days_before: Days = None,
    means: Means = None,
    overdue_days: Annotated[
        str | None,
        typer.Option(help="days after the due date for overdue notices, e.g. 1,7,15; 'none'"),
    ] = None,
    reason: Reason = "",
    as_json: AsJson = False,
) -> None:
    """A utility's default choice and overdue schedule: shown, or changed (audited) with
    any option."""
    patch = _patch(kinds, days_before, means)
    schedule = None if overdue_days is None else _days(overdue_days)

    async def work(conn: AsyncConnection) -> dict[str, object]:
        hosted = await billers_service.hosted_biller(conn, biller, "reminders")
        if patch.model_fields_set or schedule is not None:
            found = await choices.change_utility_defaults(
                conn, SystemClock(), hosted, patch, schedule, actor=default_actor(),
                reason=reason,
            )  # fmt: skip
        else:
            found = await choices.utility_defaults(conn, hosted.id)
        return {
            "biller": hosted.code,
            "defaults": found.choice.as_json(),
            "overdue_days": list(found.overdue_days),
        }

    _print(run_in_transaction(work), as_json)


def _days(text: str) -> list[int]:
    if text == "none":
        return []
    try:
        return [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        raise typer.BadParameter(f"--overdue-days {text!r}: numbers like 1,7,15") from None

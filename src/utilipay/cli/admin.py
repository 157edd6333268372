"""``utilipay channels …`` and ``utilipay billers …``: registering the hub's partners."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.billers import repository as billers_repo
from utilipay.billers import service as billers_service
from utilipay.billers.connection import parse_duration, parse_endpoints, parse_schedule
from utilipay.billers.prepaid import PrepaidSettings
from utilipay.billers.protocol.framing import SignType
from utilipay.billers.schemas import Biller, BillerStatus, Category, IntegrationMode, Verification
from utilipay.billers.service import AutopaySettings, RemoteSettings
from utilipay.channels import repository as channels_repo
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import Channel, ChannelKind, ChannelStatus
from utilipay.cli.runtime import console, default_actor, run_in_transaction
from utilipay.cli.secret_input import (
    GenerateKey,
    GenerateSecret,
    KeyFile,
    SecretFile,
    read_secret,
    required_secret,
    secret_option,
)
from utilipay.clock import SystemClock
from utilipay.console.i18n import Locale
from utilipay.errors import DomainError, ErrorCode
from utilipay.h5 import launch
from utilipay.money import format_yuan

# Environment variables read by `channels add` and `billers add` (never by a rotation).
CHANNEL_SECRET_ENV = "UTILIPAY_CHANNEL_SECRET"  # noqa: S105 (a variable's name)
BILLER_KEY_ENV = "UTILIPAY_BILLER_KEY"
channels_app = typer.Typer(help="Payment channels (wallets, banks, POS networks).")
billers_app = typer.Typer(help="Billers (water, power, gas utilities).")

Actor = Annotated[
    str | None,
    typer.Option(help="who is acting, for the audit log [default: $UTILIPAY_ACTOR or login]"),
]


@channels_app.command("add")
def channels_add(
    code: str,
    secret: Annotated[
        str | None,
        secret_option(
            "secret", "shared secret for request signatures (≥16 chars)", CHANNEL_SECRET_ENV
        ),
    ] = None,
    secret_file: SecretFile = None,
    generate_secret: GenerateSecret = False,
    webhook_url: Annotated[str | None, typer.Option(help="where final payments are POSTed")] = None,
    name: Annotated[str | None, typer.Option()] = None,
    rate_limit: Annotated[
        int | None, typer.Option(help="requests per second per server process; 0: none")
    ] = None,
    debit_url: Annotated[
        str | None, typer.Option(help="where the hub asks for auto-pay debits (§9)")
    ] = None,
    kind: Annotated[
        ChannelKind, typer.Option(help="agent: runs outlets with a float (§11)")
    ] = ChannelKind.WALLET,
    actor: Actor = None,
) -> None:
    """Add a channel and its receivable account."""
    shared = required_secret("secret", secret, secret_file, generate_secret, CHANNEL_SECRET_ENV)

    async def work(conn: AsyncConnection) -> Channel:
        return await channels_service.add_channel(
            conn,
            SystemClock(),
            code=code,
            secret=shared,
            name=name,
            webhook_url=webhook_url,
            rate_limit=rate_limit,
            debit_url=debit_url,
            kind=kind,
            actor=actor or default_actor(),
        )

    channel = run_in_transaction(work)
    console.print(f"channel [bold]{channel.code}[/bold] added ({channel.kind})")


@channels_app.command("update")
def channels_update(
    code: str,
    secret: Annotated[
        str | None, secret_option("secret", "new secret; the old one stays valid until retired")
    ] = None,
    secret_file: SecretFile = None,
    generate_secret: GenerateSecret = False,
    retire_previous_secret: Annotated[bool, typer.Option()] = False,
    webhook_url: Annotated[str | None, typer.Option(help="'' removes it")] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    rate_limit: Annotated[int | None, typer.Option(help="requests/s per process; 0: none")] = None,
    debit_url: Annotated[
        str | None, typer.Option(help="auto-pay debits (§9); '' removes it")
    ] = None,
    kind: Annotated[ChannelKind | None, typer.Option(help="wallet, bank, pos or agent")] = None,
    cashier_url: Annotated[
        str | None, typer.Option(help="payer pages: the channel's cashier page; '' removes it")
    ] = None,
    frame_ancestors: Annotated[
        str | None,
        typer.Option(help="payer pages: origins that may frame them, space-separated; '' none"),
    ] = None,
    reason: Annotated[str, typer.Option()] = "",
    actor: Actor = None,
) -> None:
    """Change a channel: rotate its secret, its URLs, its rate limit, enable or disable it."""
    status = None if enable is None else ChannelStatus.ACTIVE if enable else ChannelStatus.DISABLED
    new_secret = read_secret("secret", secret, secret_file, generate_secret)

    async def work(conn: AsyncConnection) -> Channel:
        return await channels_service.update_channel(
            conn,
            SystemClock(),
            code,
            new_secret=new_secret,
            retire_previous_secret=retire_previous_secret,
            webhook_url=webhook_url,
            status=status,
            rate_limit=rate_limit,
            debit_url=debit_url,
            kind=kind,
            cashier_url=cashier_url,
            frame_ancestors=frame_ancestors,
            actor=actor or default_actor(),
            reason=reason,
        )

    channel = run_in_transaction(work)
    console.print(f"channel [bold]{channel.code}[/bold] updated ({channel.status})")


@channels_app.command("list")
def channels_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Channels by code: kind, status, webhook, how many secrets are accepted (never them)."""
    found = run_in_transaction(channels_repo.all_channels)
    if as_json:
        print(json.dumps([c.as_json() for c in found], ensure_ascii=False))
        return
    table = Table("code", "name", "kind", "status", "webhook", "secrets")
    for c in found:
        table.add_row(c.code, c.name, c.kind, c.status, c.webhook_url or "",
                      str(len(c.accepted_secrets)))  # fmt: skip
    console.print(table)


@channels_app.command("launch-link")
def channels_launch_link(
    channel: Annotated[str, typer.Option(help="the channel whose secret signs the link")],
    payer: Annotated[str, typer.Option(help="the payer's id at the channel")],
    lang: Annotated[Locale, typer.Option(help="zh-CN or en")] = Locale.ZH_CN,
    base_url: Annotated[str, typer.Option(help="the hub as payers reach it")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Print a launch link of the payer pages (docs/h5.md), signed as the channel would
    sign it with its secret from the database; good for 60 s and once."""
    clock = SystemClock()

    async def work(conn: AsyncConnection) -> str:
        found = await channels_repo.by_code(conn, channel)
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"no channel {channel}")
        return launch.link(
            base_url, found.code, found.secret, payer, lang, int(clock.now().timestamp())
        )

    print(run_in_transaction(work))


Url = Annotated[str | None, typer.Option("--url", help="remote: the biller's base URL")]
Key = Annotated[
    str | None, secret_option("key", "remote: shared signing key (≥8 chars)", BILLER_KEY_ENV)
]
SignTypeOpt = Annotated[SignType | None, typer.Option(help="remote: SHA1 (legacy) or HMAC-SHA256")]
Schedule = Annotated[
    str | None, typer.Option(help="remote: delays between confirms [default: 5s,30s,2m,10m,30m]")
]
Deadline = Annotated[
    str | None, typer.Option(help="remote: when an unknown write-off is reversed [default: 24h]")
]
ConnectTimeout = Annotated[str | None, typer.Option(help="remote: [default: 3s]")]
TotalTimeout = Annotated[str | None, typer.Option(help="remote: per call [default: 10s]")]
RefundAttempts = Annotated[
    int | None, typer.Option(help="remote: unanswered refunds before a person takes over")
]
Endpoint = Annotated[
    list[str] | None,
    typer.Option(help="remote: TRANCODE=URL where not <url>/<trancode> (repeatable)"),
]

DefaultCap = Annotated[
    int | None, typer.Option(help="auto-pay: fen, for a mandate signed without a cap [100000]")
]
MaxCap = Annotated[int | None, typer.Option(help="auto-pay: fen, the highest cap allowed [500000]")]
PollEvery = Annotated[
    str | None, typer.Option(help="auto-pay, remote: how often to ask for new bills [1d]")
]
DebitNotice = Annotated[
    str | None, typer.Option(help="auto-pay: from a bill's notice to its debit, 0 to 1d [2h]")
]


PrepaidReminder = Annotated[
    int | None, typer.Option(help="prepaid: fen, a balance below it is LOW (fee warning) [2000]")
]
PrepaidCutGrace = Annotated[
    str | None, typer.Option(help="prepaid: from ARREARS to the cut, 1h to 30d [24h]")
]
PrepaidRewardPoints = Annotated[
    int | None, typer.Option(help="prepaid: points of the monthly pre-store reward; 0: none [0]")
]
PrepaidRewardMin = Annotated[
    int | None, typer.Option(help="prepaid: fen, the smallest top-up that earns it [5000]")
]


def _prepaid_settings(
    reminder: int | None, cut_grace: str | None, reward_points: int | None, reward_min: int | None
) -> PrepaidSettings | None:
    grace = None if cut_grace is None else round(parse_duration(cut_grace))
    settings = PrepaidSettings(reminder, grace, reward_points, reward_min)
    return settings if settings != PrepaidSettings() else None


def _autopay_settings(
    default_cap: int | None, max_cap: int | None, poll_every: str | None, debit_notice: str | None
) -> AutopaySettings | None:
    def seconds(text: str | None) -> int | None:
        return None if text is None else 0 if text.strip() == "0" else round(parse_duration(text))

    settings = AutopaySettings(default_cap, max_cap, seconds(poll_every), seconds(debit_notice))
    return settings if settings != AutopaySettings() else None


def _remote_settings(
    url: str | None,
    key: str | None,
    sign_type: SignType | None,
    confirm_schedule: str | None,
    resolution_deadline: str | None,
    connect_timeout: str | None,
    total_timeout: str | None,
    max_refund_attempts: int | None,
    endpoint: list[str] | None,
    retire_previous_key: bool = False,
) -> RemoteSettings:
    def ms(text: str | None) -> int | None:
        return round(parse_duration(text) * 1000) if text else None

    return RemoteSettings(
        url=url,
        key=key,
        retire_previous_key=retire_previous_key,
        sign_type=sign_type,
        confirm_schedule=parse_schedule(confirm_schedule) if confirm_schedule else None,
        resolution_deadline_s=(
            round(parse_duration(resolution_deadline)) if resolution_deadline else None
        ),
        connect_timeout_ms=ms(connect_timeout),
        total_timeout_ms=ms(total_timeout),
        max_refund_attempts=max_refund_attempts,
        endpoints=parse_endpoints(endpoint) if endpoint else None,
    )


@billers_app.command("add")
def billers_add(
    code: str,
    name: Annotated[str, typer.Option()],
    category: Annotated[Category, typer.Option()],
    mode: Annotated[IntegrationMode, typer.Option()],
    account_rule: Annotated[str, typer.Option(help="regex a whole account number must match")],
    account_hint: Annotated[str, typer.Option(help="the rule in words, shown to payers")] = "",
    region: Annotated[str, typer.Option(help="6-digit administrative division code")] = "",
    parent: Annotated[str | None, typer.Option(help="the group this biller is a branch of")] = None,
    url: Url = None,
    key: Key = None,
    key_file: KeyFile = None,
    generate_key: GenerateKey = False,
    sign_type: SignTypeOpt = None,
    confirm_schedule: Schedule = None,
    resolution_deadline: Deadline = None,
    connect_timeout: ConnectTimeout = None,
    total_timeout: TotalTimeout = None,
    max_refund_attempts: RefundAttempts = None,
    endpoint: Endpoint = None,
    autopay_default_cap: DefaultCap = None,
    autopay_max_cap: MaxCap = None,
    autopay_poll_every: PollEvery = None,
    debit_notice: DebitNotice = None,
    prepaid_reminder: PrepaidReminder = None,
    prepaid_cut_grace: PrepaidCutGrace = None,
    prepaid_reward_points: PrepaidRewardPoints = None,
    prepaid_reward_min: PrepaidRewardMin = None,
    actor: Actor = None,
) -> None:
    """Register a biller: hosted (its bills live in the hub) or remote (biller protocol)."""
    autopay = _autopay_settings(
        autopay_default_cap, autopay_max_cap, autopay_poll_every, debit_notice
    )

    remote = mode is IntegrationMode.REMOTE
    remote_key = read_secret("key", key, key_file, generate_key, BILLER_KEY_ENV) if remote else None

    async def work(conn: AsyncConnection) -> Biller:
        settings = None
        if remote:
            settings = _remote_settings(
                url, remote_key, sign_type, confirm_schedule, resolution_deadline,
                connect_timeout, total_timeout, max_refund_attempts, endpoint,
            )  # fmt: skip
        return await billers_service.add_biller(
            conn,
            SystemClock(),
            code=code,
            name=name,
            category=category,
            mode=mode,
            account_rule=account_rule,
            account_hint=account_hint,
            region=region,
            parent_code=parent,
            remote=settings,
            autopay=autopay,
            prepaid=_prepaid_settings(  # inside: a bad duration is a clean refusal
                prepaid_reminder, prepaid_cut_grace, prepaid_reward_points, prepaid_reward_min
            ),
            actor=actor or default_actor(),
        )

    biller = run_in_transaction(work)
    console.print(f"biller [bold]{biller.code}[/bold] added ({biller.mode})")


@billers_app.command("update")
def billers_update(
    code: str,
    name: Annotated[str | None, typer.Option()] = None,
    active: Annotated[bool | None, typer.Option("--activate/--suspend")] = None,
    url: Url = None,
    key: Annotated[
        str | None, secret_option("key", "a new key; the old one stays accepted until retired")
    ] = None,
    key_file: KeyFile = None,
    generate_key: GenerateKey = False,
    retire_previous_key: Annotated[bool, typer.Option()] = False,
    sign_type: SignTypeOpt = None,
    confirm_schedule: Schedule = None,
    resolution_deadline: Deadline = None,
    connect_timeout: ConnectTimeout = None,
    total_timeout: TotalTimeout = None,
    max_refund_attempts: RefundAttempts = None,
    endpoint: Endpoint = None,
    autopay_default_cap: DefaultCap = None,
    autopay_max_cap: MaxCap = None,
    autopay_poll_every: PollEvery = None,
    debit_notice: DebitNotice = None,
    prepaid_reminder: PrepaidReminder = None,
    prepaid_cut_grace: PrepaidCutGrace = None,
    prepaid_reward_points: PrepaidRewardPoints = None,
    prepaid_reward_min: PrepaidRewardMin = None,
    verification: Annotated[
        Verification | None,
        typer.Option(help="how a payer proves an account is theirs before binding (§13)"),
    ] = None,
    reason: Annotated[str, typer.Option(help="why; required to change --verification")] = "",
    actor: Actor = None,
) -> None:
    """Change a biller: its name and status, its auto-pay rules, its prepaid rules (hosted),
    how bindings are verified; for a remote one also its URL, key (rotation), confirm
    schedule and timeouts."""
    autopay = _autopay_settings(
        autopay_default_cap, autopay_max_cap, autopay_poll_every, debit_notice
    )
    new_key = read_secret("key", key, key_file, generate_key)
    remote = _remote_settings(
        url, new_key, sign_type, confirm_schedule, resolution_deadline,
        connect_timeout, total_timeout, max_refund_attempts, endpoint, retire_previous_key,
    )  # fmt: skip
    status = None if active is None else BillerStatus.ACTIVE if active else BillerStatus.SUSPENDED

    async def work(conn: AsyncConnection) -> Biller:
        return await billers_service.update_biller(
            conn,
            SystemClock(),
            code,
            name=name,
            status=status,
            remote=remote if remote != RemoteSettings() else None,
            autopay=autopay,
            prepaid=_prepaid_settings(  # inside: a bad duration is a clean refusal
                prepaid_reminder, prepaid_cut_grace, prepaid_reward_points, prepaid_reward_min
            ),
            verification=verification,
            actor=actor or default_actor(),
            reason=reason,
        )

    biller = run_in_transaction(work)
    console.print(f"biller [bold]{biller.code}[/bold] updated ({biller.status})")


@billers_app.command("list")
def billers_list() -> None:
    found = run_in_transaction(billers_repo.all_billers)
    table = Table(
        "code", "name", "category", "mode", "status", "account rule", "auto-pay caps (yuan)",
        "verification", "reached at",
    )  # fmt: skip
    for b in found:
        where = f"{b.remote.base_url} ({b.remote.sign_type})" if b.remote else ""
        caps = f"{format_yuan(b.mandate_default_cap)} / ≤ {format_yuan(b.mandate_max_cap)}"
        table.add_row(
            b.code, b.name, b.category, b.mode, b.status, b.rule.pattern, caps, b.verification,
            where,
        )  # fmt: skip
    console.print(table)

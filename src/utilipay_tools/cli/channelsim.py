"""``utilipay channel-sim``: a simulated payment channel (wallet app) for demos and tests."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from utilipay.cli.runtime import console
from utilipay.cli.secret_input import GenerateSecret, SecretFile, required_secret, secret_option
from utilipay_tools.channelsim.app import create_app
from utilipay_tools.channelsim.outcomes import Outcome, OutcomePlan
from utilipay_tools.channelsim.simulator import ChannelSimConfig

SECRET_ENV = "UTILIPAY_CHANNEL_SIM_SECRET"  # noqa: S105 (a variable's name)
OUTCOMES_EXAMPLE = "card-1=declined,balance=processing,*=success"


def channel_sim(
    secret: Annotated[
        str | None,
        secret_option(
            "secret", "the channel's secret at the hub, which signs the hub's requests", SECRET_ENV
        ),
    ] = None,
    secret_file: SecretFile = None,
    generate_secret: GenerateSecret = False,
    port: Annotated[int, typer.Option()] = 9200,
    previous_secret: Annotated[
        str | None, typer.Option(help="the secret being rotated out, still accepted")
    ] = None,
    outcomes: Annotated[
        str,
        typer.Option(
            help=f"outcome per funding source, * for any other, e.g. {OUTCOMES_EXAMPLE!r}; "
            f"outcomes: {', '.join(o.value for o in Outcome)}"
        ),
    ] = "",
    timeout_delay: Annotated[
        float, typer.Option(help="seconds a timeout outcome holds its answer back")
    ] = 15.0,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    settle_after: Annotated[
        int, typer.Option(help="lookups of a PROCESSING debit until one answers SUCCEEDED")
    ] = 1,
    fail_webhooks: Annotated[
        int, typer.Option(help="refuse (503) the first N webhook deliveries")
    ] = 0,
    base: Annotated[str, typer.Option(help="path prefix of every route, e.g. /wallet")] = "",
) -> None:
    """Serve a simulated channel: the hub's debits (channel-api.md §9), its webhooks (§7, §10)."""
    try:
        plan = OutcomePlan.parse(outcomes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--outcomes") from None
    shared = required_secret("secret", secret, secret_file, generate_secret, SECRET_ENV)
    try:
        config = ChannelSimConfig(
            secret=shared,
            previous_secret=previous_secret,
            outcomes=plan,
            timeout_delay=timeout_delay,
            settle_after=settle_after,
            fail_webhooks=fail_webhooks,
            base=base,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    url = f"http://{host}:{port}{base}"
    console.print(
        f"channel simulator on {url}/debits (webhooks: {url}/webhooks); outcomes: {plan.spec()}",
        highlight=False,
    )
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)

"""``utilipay head-end-sim``: a simulated head-end system (docs/head-end-protocol.md)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from utilipay.cli.runtime import console
from utilipay.cli.secret_input import GenerateSecret, SecretFile, required_secret, secret_option
from utilipay_tools.billersim.app import quiet_dropped_replies
from utilipay_tools.headendsim.app import create_app
from utilipay_tools.headendsim.faults import FaultKind, FaultPlan, Faults
from utilipay_tools.headendsim.simulator import HeadEndSimConfig

SIM_ENV = "UTILIPAY_HEAD_END_SIM_SECRET"  # the simulator's secret
FAULTS_EXAMPLE = "timeout=0.1,drop_response=0.05,error=0.05,accept_only=0.2"


def _meters(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def head_end_sim(
    secret: Annotated[
        str | None,
        secret_option(
            "secret", "the head-end's secret at the hub, which signs the hub's requests", SIM_ENV
        ),
    ] = None,
    secret_file: SecretFile = None,
    generate_secret: GenerateSecret = False,
    port: Annotated[int, typer.Option()] = 9300,
    previous_secret: Annotated[
        str | None, typer.Option(help="the secret being rotated out, still accepted")
    ] = None,
    faults: Annotated[
        str,
        typer.Option(
            help=f"probability of each fault per command request, e.g. {FAULTS_EXAMPLE!r}; "
            f"faults: {', '.join(k.value for k in FaultKind)}"
        ),
    ] = "",
    seed: Annotated[int | None, typer.Option(help="the same seed, the same faults")] = None,
    timeout_delay: Annotated[
        float, typer.Option(help="seconds a timeout fault holds the answer back")
    ] = 15.0,
    execute_after: Annotated[
        float, typer.Option(help="seconds from ACCEPTED (accept_only fault) to executed")
    ] = 2.0,
    rejected_meters: Annotated[
        str, typer.Option(help="meters without a switchable relay, comma-separated: REJECTED")
    ] = "",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    base: Annotated[str, typer.Option(help="path prefix of every route, e.g. /headend")] = "",
) -> None:
    """Serve a simulated head-end: the meters' side of docs/head-end-protocol.md, with faults."""
    try:
        plan = FaultPlan.parse(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    shared = required_secret("secret", secret, secret_file, generate_secret, SIM_ENV)
    try:
        config = HeadEndSimConfig(
            secret=shared,
            previous_secret=previous_secret,
            timeout_delay=timeout_delay,
            execute_after=execute_after,
            rejected_meters=_meters(rejected_meters),
            base=base,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    url = f"http://{host}:{port}{base}"
    console.print(
        f"head-end simulator on {url}/commands (meters: {url}/meters/ID); "
        f"faults: {plan.spec() or 'none'}",
        highlight=False,
    )
    quiet_dropped_replies()
    app = create_app(config, faults=Faults(plan, seed))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

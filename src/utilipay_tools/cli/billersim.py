"""``utilipay biller-sim``: a simulated utility on the hub's database (demos, fault campaigns)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.engine import URL

from utilipay.billers.protocol.framing import SignType
from utilipay.cli.runtime import console
from utilipay.cli.secret_input import GenerateKey, KeyFile, required_secret, secret_option
from utilipay.clock import Clock, SystemClock
from utilipay.config import get_settings
from utilipay.db.engine import create_engine, database_url, ensure_database
from utilipay_tools.billersim.app import create_app, quiet_dropped_replies
from utilipay_tools.billersim.faults import FaultPlan, Faults
from utilipay_tools.billersim.simulator import SimConfig, Simulator

KEY_ENV = "UTILIPAY_BILLER_SIM_KEY"
FAULTS_EXAMPLE = "timeout=0.1,drop_response=0.05,error=0.05,slow=0.1,duplicate=0.02"


async def prepare(
    url: URL, config: SimConfig, clock: Clock, *, accounts: int = 0, seed: int = 0
) -> list[str]:
    """Create the database if missing and the simulator's schema; seed ``accounts`` accounts
    (their numbers are returned)."""
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        sim = Simulator(engine, config, clock)
        await sim.prepare()
        return await sim.seed_accounts(accounts, seed) if accounts else []
    finally:
        await engine.dispose()


def biller_sim(
    key: Annotated[
        str | None,
        secret_option("key", "the shared key: requests and replies are signed with it", KEY_ENV),
    ] = None,
    key_file: KeyFile = None,
    generate_key: GenerateKey = False,
    port: Annotated[int, typer.Option()] = 9100,
    sign_type: Annotated[SignType, typer.Option(help="the signature scheme")] = (
        SignType.HMAC_SHA256
    ),
    previous_key: Annotated[
        str | None, typer.Option(help="the key being rotated out, still accepted")
    ] = None,
    biller: Annotated[str, typer.Option(help="this utility's code at the hub")] = "BJWATER",
    faults: Annotated[
        str, typer.Option(help=f"probability of each fault per request, e.g. {FAULTS_EXAMPLE!r}")
    ] = "",
    seed: Annotated[
        int | None, typer.Option(help="the same seed, the same faults and accounts")
    ] = None,
    accounts: Annotated[int, typer.Option(help="seed this many accounts with unpaid bills")] = 0,
    schema: Annotated[str, typer.Option(help="PostgreSQL schema of its tables")] = "billersim",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    timeout_delay: Annotated[
        float, typer.Option(help="seconds a timeout fault holds the reply back")
    ] = 15.0,
) -> None:
    """Serve a simulated utility, the other side of biller-protocol.md, with injected faults."""
    try:
        plan = FaultPlan.parse(faults, timeout_delay=timeout_delay)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    shared = required_secret("key", key, key_file, generate_key, KEY_ENV)
    try:
        config = SimConfig(
            key=shared, sign_type=sign_type, previous_key=previous_key, biller=biller, schema=schema
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--schema") from None
    url = database_url(get_settings())
    seeded = asyncio.run(prepare(url, config, SystemClock(), accounts=accounts, seed=seed or 0))
    console.print(
        f"biller [bold]{biller}[/bold] on http://{host}:{port}/{{query,charge,confirm,refund}}, "
        f"tables in {url.database}.{schema}; faults: {faults or 'none'}",
        highlight=False,
    )
    if seeded:
        console.print(f"{len(seeded)} accounts seeded, e.g. {', '.join(seeded[:3])}")
    quiet_dropped_replies()
    app = create_app(config, url, faults=Faults(plan, seed))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

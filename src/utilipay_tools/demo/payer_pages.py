"""The demo's payer pages (H5): the wallet's cashier (the channel simulator's) set on the
demo channel, and an "open in app" address that signs a fresh launch link each time it is
opened (a link lives 60 s, too short to copy from a terminal), so a person can open the
pages as the demo payer while the hub keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from rich.console import Console

from utilipay.channels import service as channels_service
from utilipay.clock import SystemClock
from utilipay.db.engine import create_engine
from utilipay.runtime.sample import CHANNEL, CHANNEL_SECRET, PAYER
from utilipay.web.server import ServerThread
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig


async def _set_cashier(url: Any, cashier_url: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, SystemClock(), CHANNEL, cashier_url=cashier_url, actor="demo"
        )
    await engine.dispose()


@contextmanager
def wallet_pages(url: Any, hub_url: str) -> Iterator[str]:
    """Serve the demo channel's cashier; yields the "open in app" address of the payer."""
    config = ChannelSimConfig(secret=CHANNEL_SECRET, hub_url=hub_url, channel_code=CHANNEL)
    with ServerThread(app_for(ChannelSim(config))) as sim_url:
        asyncio.run(_set_cashier(url, f"{sim_url}/cashier"))
        yield f"{sim_url}/open?payer={quote(PAYER)}"


def show_payer_pages(console: Console, open_url: str) -> None:
    console.print(
        f"\n[bold]Payer pages (H5)[/bold] as the demo payer {PAYER}: open {open_url} "
        "(a fresh signed launch link each time; add &lang=en for English)",
        highlight=False,
        soft_wrap=True,  # the address whole on one line, to copy
    )

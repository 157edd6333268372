"""A channel's settings of the payer pages: its cashier and the origins that may frame the
pages, set through the channel service (and so the CLI and the console), audited; and the
simulated cashier, which takes only an order the hub signed."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET
from tests.h5.conftest import PAYER
from tests.helpers import ACCOUNT, audited_actors
from utilipay.channels import repository as channels_repo
from utilipay.channels import service as channels_service
from utilipay.channels.schemas import Channel, ChannelStatus
from utilipay.clock import FrozenClock
from utilipay.errors import DomainError
from utilipay.h5.cashier import cashier_link
from utilipay.h5.store import Order
from utilipay.web.server import ServerThread
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig


async def test_the_settings_are_kept_audited_and_removable(
    engine: AsyncEngine, clock: FrozenClock, world: object
) -> None:
    async with engine.begin() as conn:
        changed = await channels_service.update_channel(
            conn, clock, "WECHAT", cashier_url="https://pay.wallet.example/cashier",
            frame_ancestors=" https://m.wallet.example   http://127.0.0.1:8080 ", actor="ops",
            reason="payer pages go live",
        )  # fmt: skip
    assert changed.cashier_url == "https://pay.wallet.example/cashier"
    assert changed.frame_ancestors == ("https://m.wallet.example", "http://127.0.0.1:8080")
    assert await audited_actors(engine, "channel.update") == ["ops"]
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", cashier_url="", frame_ancestors="", actor="ops"
        )
        cleared = await channels_repo.by_code(conn, "WECHAT")
    assert cleared is not None and (cleared.cashier_url, cleared.frame_ancestors) == (None, ())


@pytest.mark.parametrize(
    "bad", ["https://a.example/path", "'self'", "http://wallet.example", "*", "https://a.b;x"]
)
async def test_frame_ancestors_are_origins_only(
    engine: AsyncEngine, clock: FrozenClock, world: object, bad: str
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError, match="frame ancestor"):
            await channels_service.update_channel(
                conn, clock, "WECHAT", frame_ancestors=bad, actor="test"
            )


async def test_a_cashier_url_must_be_https(
    engine: AsyncEngine, clock: FrozenClock, world: object
) -> None:
    async with engine.begin() as conn:
        with pytest.raises(DomainError, match="cashier URL"):
            await channels_service.update_channel(
                conn, clock, "WECHAT", cashier_url="http://pay.wallet.example/", actor="test"
            )


def test_the_simulated_cashier_takes_only_what_the_hub_signed(clock: FrozenClock) -> None:
    sim = ChannelSim(ChannelSimConfig(secret=SECRET, hub_url="http://127.0.0.1:9"), clock)
    with ServerThread(app_for(sim)) as url:
        channel = Channel(1, "WECHAT", "WECHAT", SECRET, None, None, ChannelStatus.ACTIVE, 1,
                          cashier_url=f"{url}/cashier")  # fmt: skip
        order = Order("H5TEST", "WECHAT", PAYER, "BD1", "BJWATER", ACCOUNT, ("B1",), 12345,
                      datetime(2026, 11, 22))  # fmt: skip
        link = cashier_link(channel, order, "http://127.0.0.1:1/h5/orders/H5TEST", 1)
        shown = httpx.get(link)
        assert shown.status_code == 200 and "¥123.45" in shown.text
        tampered = httpx.get(link.replace("amount=12345", "amount=1"))
        assert tampered.status_code == 403
        paid = httpx.post(f"{url}/cashier", data={"order_id": "H5TEST", "amount": "1"})
        assert paid.status_code == 403

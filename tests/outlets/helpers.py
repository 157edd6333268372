"""An agent channel with a village shop, for the outlets' tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from utilipay.channels import service as channels_service
from utilipay.channels.schemas import ChannelKind
from utilipay.clock import Clock
from utilipay.outlets import service
from utilipay.outlets.repository import Outlet
from utilipay.outlets.schemas import OutletKind

AGENT_SECRET = "agent-channel-secret-0123456789"


async def agent_with_shop(conn: AsyncConnection, clock: Clock, code: str = "AGENT1") -> Outlet:
    await channels_service.add_channel(
        conn, clock, code=code, secret=AGENT_SECRET, kind=ChannelKind.AGENT, actor="ops-li"
    )
    return await service.add_outlet(
        conn, clock, channel=code, code="SHOP-0001", name="东村小卖部", kind=OutletKind.SHOP,
        region="泉州市南安市", low_threshold=50_000, owner_name="陈大海",
        owner_phone="13905951234", actor="ops-li",
    )  # fmt: skip

"""The outlets' tests share a shop (see ``void_fixtures``: temporary terminal payments)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.outlets.void_fixtures import Outlet, open_outlet
from utilipay.channels.schemas import Channel
from utilipay.clock import FrozenClock


@pytest.fixture
async def shop(engine: AsyncEngine, clock: FrozenClock, world: dict[str, Any]) -> Outlet:
    """The WECHAT channel's shop SHOP1."""
    wechat = world["wechat"]
    assert isinstance(wechat, Channel)
    return await open_outlet(engine, clock, wechat, "SHOP1")

"""The payer pages in a real browser at a phone's size (``tests.browser``: Chromium, the hub
on a local port), the channel simulator's cashier, and launch links as a channel signs
them. ``UTILIPAY_SCREENSHOTS=1`` (``python3 dev.py screenshots``) refreshes ``docs/h5/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.browser import browser, console, low_contrast, snapshot_into
from tests.conftest import SECRET
from utilipay.channels import service as channels_service
from utilipay.clock import FrozenClock
from utilipay.console.i18n import Locale
from utilipay.h5 import launch
from utilipay.web.server import ServerThread
from utilipay_tools.channelsim.app import app_for
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig

__all__ = ["browser", "console"]  # fixtures the pages' tests use

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "h5"
PAYER = "wx-openid-abc"
OTHER_PAYER = "wx-openid-xyz"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def launch_link(
    clock: FrozenClock, payer: str = PAYER, lang: Locale = Locale.ZH_CN, secret: str = SECRET
) -> str:
    """A link as the WECHAT channel signs it now (relative to the hub)."""
    return launch.link("", "WECHAT", secret, payer, lang, int(clock.now().timestamp()))


@pytest.fixture
async def phone(browser: Browser, console: str) -> AsyncIterator[Page]:
    """A phone's browser; at the end, nothing the pages did broke their own policy (an
    inline script or style, a third-party request: Chromium reports it as an error)."""
    context = await browser.new_context(base_url=console, locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    await context.close()
    assert [e for e in errors if "Content Security Policy" in e] == []


@pytest.fixture
async def cashier(clock: FrozenClock, console: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """The WECHAT channel's cashier (the channel simulator's) at the URL the channel set."""
    sim = ChannelSim(ChannelSimConfig(secret=SECRET, hub_url=console), clock)
    with ServerThread(app_for(sim)) as url:
        async with engine.begin() as conn:
            await channels_service.update_channel(
                conn, clock, "WECHAT", cashier_url=f"{url}/cashier", actor="test"
            )
        yield f"{url}/cashier"


async def open_session(http: httpx.AsyncClient, clock: FrozenClock, payer: str = PAYER) -> None:
    """``http`` (the hub in process) with the payer's session cookie."""
    opened = await http.get(launch_link(clock, payer))
    assert opened.status_code == 303, opened.text


async def snapshot(page: Page, name: str) -> None:
    """A page a journey shows: its text readable (WCAG AA contrast, every time), and
    ``docs/h5/NAME.png`` refreshed when asked to (``UTILIPAY_SCREENSHOTS=1``)."""
    assert await low_contrast(page) == [], name
    await snapshot_into(SCREENSHOTS, page, name)

"""The console in a real browser (``tests.browser``: Chromium, the hub on a local port);
``UTILIPAY_SCREENSHOTS=1`` (``python3 dev.py screenshots``) refreshes ``docs/console/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.browser import browser, console, snapshot_into
from utilipay.billers.schemas import Biller
from utilipay.clock import FrozenClock
from utilipay.staff import service as users
from utilipay.staff.roles import Role

__all__ = ["browser", "console"]  # fixtures the console's tests use

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest.fixture
async def page(browser: Browser, console: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=console, locale="zh-CN")
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
async def people(
    engine: AsyncEngine, clock: FrozenClock, world: dict[str, object]
) -> dict[Role, str]:
    """One user of each role (utility staff of the water utility), password ``PASSWORD``."""
    water = world["water"]
    assert isinstance(water, Biller)
    names = {}
    async with engine.begin() as conn:
        for role in Role:
            name = role.replace("_", "-")
            await users.create_user(
                conn, clock, username=name, password=PASSWORD, role=role,
                biller_id=water.id if role is Role.UTILITY_STAFF else None, actor="test",
            )  # fmt: skip
            names[role] = name
    return names


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.goto("/console/sign-in")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def snapshot(page: Page, name: str) -> None:
    """Refresh ``docs/console/NAME.png`` when asked to (``UTILIPAY_SCREENSHOTS=1``)."""
    await snapshot_into(SCREENSHOTS, page, name)

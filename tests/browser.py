"""What every browser test shares (the console's, the payer pages'): the distribution's
Chromium driven by Playwright, and the hub served on a local port in the tests' own event
loop, on the test database.

Chromium is ``$UTILIPAY_CHROMIUM`` or the ``chromium`` on the PATH (Debian's package:
``apt-get install chromium``; Playwright's own download cannot reach the internet here).
Without one the browser tests skip, saying so, unless ``UTILIPAY_REQUIRE_BROWSER`` is
set: ``.ci/run`` installs Chromium and sets it, so in CI they fail rather than skip.
``UTILIPAY_SCREENSHOTS=1`` (``python3 dev.py screenshots``) refreshes the screenshots in
``docs/``. A conftest imports the fixtures it uses from here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from utilipay.web.app import create_app
from utilipay.web.hub import Hub
from utilipay.web.server import free_port

# What a headless Chromium needs on a closed network, as root, in a container
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str | None:
    return (
        os.environ.get("UTILIPAY_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        reason = "no Chromium: apt-get install chromium, or set UTILIPAY_CHROMIUM"
        if os.environ.get("UTILIPAY_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def console(hub: Hub) -> AsyncIterator[str]:
    """The hub's base URL, served by uvicorn in this event loop (the engine's)."""
    port = free_port()
    config = uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def snapshot_into(folder: Path, page: Page, name: str) -> None:
    """Refresh ``FOLDER/NAME.png`` when asked to (``UTILIPAY_SCREENSHOTS=1``)."""
    if os.environ.get("UTILIPAY_SCREENSHOTS"):
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=folder / f"{name}.png", full_page=True)

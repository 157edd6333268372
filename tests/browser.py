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


# WCAG 2 contrast of each element's own text against the first opaque background behind
# it: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). SVG draws with fill, not
# color, and is left out; so is what is not rendered.
_LOW_CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent)
      .join("").trim();
    const style = getComputedStyle(el);
    if (!text || el.closest("svg") || style.visibility === "hidden"
        || el.getClientRects().length === 0) continue;
    const [hi, lo] = [luminance(rgb(style.color)), luminance(behind(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      low.push(`${el.tagName} "${text.slice(0, 24)}" ${ratio.toFixed(2)}:1`);
    }
  }
  return low;
}"""


async def low_contrast(page: Page) -> list[str]:
    """The texts of ``page`` below WCAG AA contrast, each with its ratio."""
    found: list[str] = await page.evaluate(_LOW_CONTRAST)
    return found

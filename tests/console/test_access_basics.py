"""Accessibility basics and a tablet: sign-in by keyboard alone, a skip link to the page's
content, a label for every field of the main pages, and no page wider than a tablet."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.console.conftest import PASSWORD, sign_in
from utilipay.staff.roles import Role

TABLET: ViewportSize = {"width": 768, "height": 1024}
PAGES = ["/console/dashboard", "/console/payments", "/console/exceptions", "/console/recon",
         "/console/settlement", "/console/meter-commands", "/console/me"]  # fmt: skip


async def test_sign_in_by_keyboard_alone(page: Page, people: dict[Role, str]) -> None:
    await page.goto("/console/sign-in")
    await page.keyboard.type(people[Role.OPERATIONS])  # the name field has the focus
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url("/console/dashboard")
    await page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    skip = page.get_by_role("link", name="跳到正文")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()


@pytest.mark.parametrize("path", PAGES)
async def test_every_field_has_a_label_and_a_tablet_needs_no_sideways_scroll(
    browser: Browser, console: str, people: dict[Role, str], path: str
) -> None:
    context = await browser.new_context(base_url=console, viewport=TABLET)
    tablet = await context.new_page()
    await sign_in(tablet, people[Role.OPERATIONS])
    await tablet.goto(path)
    unlabelled = await tablet.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter(f => f.labels.length === 0 && !f.getAttribute('aria-label'))
               .map(f => f.name || f.id)"""
    )
    assert unlabelled == []
    width = await tablet.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"]
    await context.close()

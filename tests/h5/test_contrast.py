"""The contrast check every journey's pages pass (``tests.browser.low_contrast``) finds
text too faint to read, and only that."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser import low_contrast


async def test_faint_text_is_found_and_readable_text_is_not(phone: Page) -> None:
    await phone.set_content(
        '<body style="background:#f4f5f7">'
        '<p style="color:#1a1a1a">readable</p>'
        '<p style="color:#999">faint grey</p>'
        '<div style="background:#0b5cad"><a style="color:#fff">white on blue</a></div>'
        '<div style="background:#0b5cad"><span style="color:#1a1a1a">dark on blue</span></div>'
        '<h1 style="color:#888;font-size:32px">large grey</h1>'
        "</body>"
    )
    found = await low_contrast(phone)
    assert [entry.split(" ")[1] for entry in found] == ['"faint', '"dark'], found
    assert found[0].endswith("2.61:1"), found  # #999 on #f4f5f7

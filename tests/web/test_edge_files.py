"""A file response streams through the edge whole: the edge hands the body on and then the
server's own messages, not an invented disconnect that would end the file before its
first byte (the console's scripts and styles are such files)."""

from __future__ import annotations

from importlib import resources

import httpx

from utilipay.web.app import create_app
from utilipay.web.hub import Hub


async def test_a_static_file_is_served_whole(hub: Hub) -> None:
    vendored = resources.files("utilipay.console") / "static" / "vendor" / "chart.umd.min.js"
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        served = await client.get("/console/static/vendor/chart.umd.min.js")
    assert served.status_code == 200
    assert served.content == vendored.read_bytes()

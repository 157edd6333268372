"""A response streamed in chunks (a static file of the console) is sent whole: the edge
hands the server's own ``receive`` on once the body is read, so a response that listens
for the client leaving is not told it left."""

from __future__ import annotations

from importlib import resources

import httpx


async def test_a_static_file_is_sent_whole(http: httpx.AsyncClient) -> None:
    stylesheet = resources.files("utilipay.console") / "static" / "console.css"
    r = await http.get("/console/static/console.css")
    assert r.status_code == 200
    assert r.content == stylesheet.read_bytes()

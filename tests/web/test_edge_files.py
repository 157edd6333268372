"""A file response streams through the edge whole: the edge hands the body on and then the
server's own messages, not an invented disconnect that would end the file before its
first byte (the console's scripts and styles are such files)."""

from __future__ import annotations

from importlib import resources

import httpx

from utilipay.http.body import MAX_BODY, MAX_UPLOAD
from utilipay.web.app import create_app
from utilipay.web.hub import Hub


async def test_a_static_file_is_served_whole(hub: Hub) -> None:
    vendored = resources.files("utilipay.console") / "static" / "vendor" / "chart.umd.min.js"
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        served = await client.get("/console/static/vendor/chart.umd.min.js")
    assert served.status_code == 200
    assert served.content == vendored.read_bytes()


async def test_only_the_console_uploads_may_send_large_bodies(hub: Hub) -> None:
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        upload = await client.post("/console/imports/upload", content=b"x" * (MAX_BODY + 1))
        api = await client.post("/v1/bindings", content=b"x" * (MAX_BODY + 1))
        huge = await client.post("/console/imports/upload", content=b"x" * (MAX_UPLOAD + 1))
    assert upload.status_code == 303  # past the edge: the console sends the stranger to sign in
    assert (api.status_code, huge.status_code) == (413, 413)
    assert huge.json()["detail"] == f"bodies are at most {MAX_UPLOAD} bytes"

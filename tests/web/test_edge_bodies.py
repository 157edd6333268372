"""The edge's body limit: the console's upload page alone may send a large body (a bills or
readings file), up to its own limit; every other route keeps the API's. (That a file
response streams through the edge whole is ``tests/console/test_static.py``.)"""

from __future__ import annotations

import httpx

from utilipay.http.body import MAX_BODY, MAX_UPLOAD
from utilipay.web.app import create_app
from utilipay.web.hub import Hub


async def test_only_the_console_uploads_may_send_large_bodies(hub: Hub) -> None:
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        upload = await client.post("/console/imports/upload", content=b"x" * (MAX_BODY + 1))
        api = await client.post("/v1/bindings", content=b"x" * (MAX_BODY + 1))
        huge = await client.post("/console/imports/upload", content=b"x" * (MAX_UPLOAD + 1))
    assert upload.status_code == 303  # past the edge: the console sends the stranger to sign in
    assert (api.status_code, huge.status_code) == (413, 413)
    assert huge.json()["detail"] == f"bodies are at most {MAX_UPLOAD} bytes"

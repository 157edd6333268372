"""The console's static files arrive whole from a real server: a file is streamed, and the
edge's replay of the request body must not tell the response the client has gone."""

from __future__ import annotations

from importlib import resources

import httpx
import pytest


@pytest.mark.parametrize("path", ["vendor/chart.umd.min.js", "vendor/htmx.min.js"])
async def test_a_static_file_is_served_whole(console: str, path: str) -> None:
    shipped = (resources.files("utilipay.console") / "static" / path).read_bytes()
    async with httpx.AsyncClient(base_url=console) as client:
        response = await client.get(f"/console/static/{path}")
    assert response.status_code == 200
    assert response.content == shipped

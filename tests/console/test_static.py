"""The console's static files arrive whole from a real server: a file is streamed, and the
edge's replay of the request body must not tell the response the client has gone."""

from __future__ import annotations

from importlib import resources

import httpx
import pytest

from utilipay.console.pages import signin


@pytest.mark.parametrize("path", ["vendor/chart.umd.min.js", "vendor/htmx.min.js"])
async def test_a_static_file_is_served_whole(console: str, path: str) -> None:
    shipped = (resources.files("utilipay.console") / "static" / path).read_bytes()
    async with httpx.AsyncClient(base_url=console) as client:
        response = await client.get(f"/console/static/{path}")
    assert response.status_code == 200
    assert response.content == shipped


async def test_a_failure_inside_the_console_is_a_page_not_json(
    console: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a template that does not render")

    monkeypatch.setattr(signin, "render", broken)
    async with httpx.AsyncClient(base_url=console) as client:
        response = await client.get("/console/sign-in")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "a template that does not render" not in response.text  # no internals shown

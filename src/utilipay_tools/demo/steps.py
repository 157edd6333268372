"""Printing a journey: each request, its status and its body."""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console

from utilipay_tools.client import ChannelClient


class Journey:
    def __init__(self, client: ChannelClient, console: Console) -> None:
        self.client = client
        self.console = console
        self.step = 0

    async def call(
        self,
        title: str,
        method: str,
        path: str,
        *,
        expect: int,
        json: Any = None,
        params: dict[str, str] | None = None,
        request: httpx.Request | None = None,
    ) -> Any:
        self.step += 1
        request = request or self.client.build(method, path, json=json, params=params)
        response = await self.client.send(request)
        ok = response.status_code == expect
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        self.console.print(f"\n[bold]{self.step}. {title}[/bold]")
        self.console.print(
            f"   {request.method} {request.url.raw_path.decode()} → {mark} {response.status_code}",
            highlight=False,
        )
        body = response.json() if response.content else None
        if body is not None:
            self.console.print_json(data=body, indent=None)
        if not ok:
            raise SystemExit(f"demo step {self.step} expected HTTP {expect}")
        return body

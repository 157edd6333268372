"""What a route may use of the running hub (``request.app.state.hub``), as protocols.

The hub is put together above the areas (``web.hub``); an area's routes name only what
they need of it, here and in the protocols that extend ``Host`` in each area, so that no
area imports the web layer. ``web.app`` proves the hub satisfies each of them.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from utilipay.clock import Clock


class Host(Protocol):
    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def clock(self) -> Clock: ...

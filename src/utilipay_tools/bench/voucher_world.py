"""Vouchers for the HTTP benchmark's accounts (``world``): issued and sold as
``utilipay vouchers issue`` and ``activate`` do, each worth more than any seeded bill, so
a redemption takes the longest path but a prepaid one: the bill written off, the rest
left as a credit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.engine import URL

from utilipay.clock import SystemClock, business_date
from utilipay.db.engine import create_engine
from utilipay.vouchers import service
from utilipay.vouchers.issue import IssueOrder, issue_batch
from utilipay.vouchers.service import Selection
from utilipay_tools.bench.world import BILLER

FACE = 10_000  # fen: above the largest seeded bill (9,099)
REDEEM_PATH = "/v1/vouchers/redeem"


async def seed_vouchers(url: URL, count: int) -> list[str]:
    """``count`` vouchers issued and sold; their PINs, in issue order."""
    clock = SystemClock()
    pins: list[str] = []

    def keep(lines: Any) -> None:
        pins.extend(pin for _, pin in lines)

    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        expires = business_date(clock.now()) + timedelta(days=365)
        order = IssueOrder(BILLER, count, FACE, expires)
        batch = await issue_batch(conn, clock, order, sink=keep, actor="bench")
        await service.activate(conn, clock, Selection(batch=batch.id), outlet=None, actor="bench")
    await engine.dispose()
    return pins


def redemption_body(pins: list[str], first: int) -> Callable[[int], bytes]:
    """Request ``i`` (from ``first``) redeems the PIN ``i - first`` for account ``i``."""

    def body(i: int) -> bytes:
        return orjson.dumps(
            {
                "order_id": f"BENCHV{i:09d}",
                "pin": pins[i - first],
                "biller": BILLER,
                "account": f"{i:010d}",
                "payer": f"bench-payer-{i}",
            }
        )

    return body

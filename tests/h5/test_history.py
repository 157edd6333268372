"""The payer pages' history is the API's (``payments.history``): newest first, 50 a page,
the next page by the cursor, so payments made in the same instant are neither skipped nor
shown twice; another payer's are never in it."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import channel, water
from tests.h5.conftest import OTHER_PAYER, PAYER, open_session
from tests.payments.history import write_payments
from utilipay.clock import FrozenClock

_RECEIPTS = re.compile(r'href="/h5/payments/([^/"]+)/receipt"')
_OLDER = re.compile(r'href="/h5/payments\?cursor=([^"]+)"')


async def test_every_payment_once_a_page_at_a_time(
    http: httpx.AsyncClient, clock: FrozenClock, engine: AsyncEngine, world: dict[str, object]
) -> None:
    made = clock.now() - timedelta(hours=1)
    async with engine.begin() as conn:
        for payer, prefix in ((PAYER, "P"), (OTHER_PAYER, "Q")):
            await write_payments(
                conn, biller=water(world).id, channel=channel(world, "wechat").id,
                prefix=prefix, n=55, created=made, spacing=timedelta(0), payer=payer,
            )  # fmt: skip
    await open_session(http, clock)
    first = await http.get("/h5/payments")
    older = _OLDER.search(first.text)
    assert first.status_code == 200 and older is not None
    second = await http.get(f"/h5/payments?cursor={older.group(1)}")
    assert _OLDER.search(second.text) is None  # the last page
    pages = [_RECEIPTS.findall(first.text), _RECEIPTS.findall(second.text)]
    assert [len(p) for p in pages] == [50, 5]
    assert sorted(pages[0] + pages[1]) == sorted(f"P{n}" for n in range(1, 56))
    assert (await http.get("/h5/payments?cursor=not-a-cursor")).status_code == 400

"""The void and shift-close routes act for a terminal: unsigned calls get 401, a channel's
own signature 403 (it is not a terminal's)."""

from __future__ import annotations

import httpx
import pytest

from utilipay_tools.client import ChannelClient


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/payments/P123/void", {"operator": "OP1", "reason": "wrong bill"}),
    ("/v1/outlet/shifts/close", {"operator": "OP1", "counted_cash": 100}),
])  # fmt: skip
async def test_unsigned_and_channel_signed_calls_are_refused(
    http: httpx.AsyncClient, wechat: ChannelClient, path: str, body: dict[str, object]
) -> None:
    unsigned = await http.post(path, json=body)
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == "UNAUTHENTICATED"
    by_channel = await wechat.call("POST", path, json=body)
    assert by_channel.status_code == 403
    assert by_channel.json()["code"] == "FORBIDDEN"

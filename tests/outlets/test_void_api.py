"""The void and shift-close routes refuse every call until the terminal's authentication
is wired in: a channel's signature is not a terminal's."""

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
    for response in (await http.post(path, json=body), await wechat.call("POST", path, json=body)):
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHENTICATED"

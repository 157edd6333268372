"""Signed requests (channel-api.md §3): every refusal is 401, nothing is written."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET, channel
from tests.helpers import bill_line, counts, import_bills, payment_body
from utilipay.channels import service as channels_service
from utilipay.channels.auth import NOT_SIGNED
from utilipay.channels.schemas import ChannelStatus
from utilipay.clock import FrozenClock
from utilipay.security.signing import canonical, sign
from utilipay_tools.client import ChannelClient

BILLS = {"biller": "BJWATER", "account": "0112345678"}


@pytest.fixture
async def bill(engine: AsyncEngine, clock: FrozenClock, world: Any) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))


def test_the_canonical_string_follows_the_spec() -> None:
    body = b'{"a":1}'
    message = canonical("post", "/v1/payments?x=1", "1763796600", "n" * 16, body)
    expected = "\n".join(
        ["POST", "/v1/payments?x=1", "1763796600", "n" * 16, hashlib.sha256(body).hexdigest()]
    )
    assert message == expected.encode()
    assert sign("k", message) == hmac.new(b"k", message, hashlib.sha256).hexdigest()
    empty = canonical("GET", "/v1/billers", "1", "n" * 16, b"")
    assert empty.endswith(
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )  # SHA-256 of nothing


def assert_401(r: httpx.Response, needle: str) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "UNAUTHENTICATED"
    assert needle in r.json()["detail"]


@pytest.mark.parametrize(
    "header",
    ["X-Utilipay-Channel", "X-Utilipay-Timestamp", "X-Utilipay-Nonce", "X-Utilipay-Signature"],
)
async def test_each_header_is_required(wechat: ChannelClient, bill: None, header: str) -> None:
    request = wechat.build("GET", "/v1/billers")
    del request.headers[header]
    assert_401(await wechat.send(request), NOT_SIGNED)


async def test_a_tampered_body_or_path_fails_the_signature(
    wechat: ChannelClient, bill: None, engine: AsyncEngine
) -> None:
    request = wechat.build("POST", "/v1/payments", json=payment_body())
    tampered = httpx.Request(
        "POST",
        request.url,
        headers=request.headers,
        content=request.content.replace(b"12345", b"00001"),
    )
    assert_401(await wechat.send(tampered), NOT_SIGNED)
    request = wechat.build("GET", "/v1/bills", params=BILLS)
    request.url = request.url.copy_with(params={**BILLS, "account": "2598765432"})
    assert_401(await wechat.send(request), NOT_SIGNED)
    assert (await counts(engine))["payments"] == 0


async def test_wrong_secret_unknown_and_disabled_channels(
    http: httpx.AsyncClient,
    clock: FrozenClock,
    bill: None,
    engine: AsyncEngine,
    hub: Any,
) -> None:
    assert_401(
        await ChannelClient(http, "WECHAT", "not-the-secret-at-all", clock).call(
            "GET", "/v1/billers"
        ),
        NOT_SIGNED,
    )
    assert_401(
        await ChannelClient(http, "NOSUCH", SECRET, clock).call("GET", "/v1/billers"),
        NOT_SIGNED,
    )
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", status=ChannelStatus.DISABLED, actor="test"
        )
    await hub.directory.reload()
    assert_401(
        await ChannelClient(http, "WECHAT", SECRET, clock).call("GET", "/v1/billers"),
        NOT_SIGNED,
    )


@pytest.mark.parametrize(("skew", "ok"), [(300, True), (-300, True), (301, False), (-301, False)])
async def test_timestamps_more_than_300_seconds_off_are_refused(
    http: httpx.AsyncClient, clock: FrozenClock, bill: None, skew: int, ok: bool
) -> None:
    client_clock = FrozenClock(clock.now() + timedelta(seconds=skew))
    r = await ChannelClient(http, "WECHAT", SECRET, client_clock).call("GET", "/v1/billers")
    if ok:
        assert r.status_code == 200
    else:
        assert_401(r, "timestamp")


@pytest.mark.parametrize(
    "nonce", ["short", "x" * 65, "has space in it 1234", "slash/and+plus=0123"]
)
async def test_nonce_format(wechat: ChannelClient, bill: None, nonce: str) -> None:
    request = wechat.build("GET", "/v1/billers")
    request.headers["X-Utilipay-Nonce"] = nonce
    assert_401(await wechat.send(request), NOT_SIGNED)


async def test_a_replayed_request_is_refused(
    wechat: ChannelClient, bill: None, engine: AsyncEngine
) -> None:
    request = wechat.build("POST", "/v1/payments", json=payment_body())
    assert (await wechat.send(request)).status_code == 201
    before = await counts(engine)
    assert_401(await wechat.send(request), "nonce already used")
    read = wechat.build("GET", "/v1/bills", params=BILLS)
    assert (await wechat.send(read)).status_code == 200
    assert_401(await wechat.send(read), "nonce already used")
    assert await counts(engine) == before


async def test_a_refused_request_cannot_be_replayed_later(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock, world: Any
) -> None:
    """Refused now (no bill yet), the same signed request must not pay once the bill exists."""
    request = wechat.build("POST", "/v1/payments", json=payment_body())
    assert (await wechat.send(request)).json()["code"] == "ACCOUNT_NOT_FOUND"
    invalid = wechat.build("POST", "/v1/payments", json=payment_body(account="1"))
    assert (await wechat.send(invalid)).json()["code"] == "INVALID_ACCOUNT"
    await import_bills(engine, clock, bill_line("B202610-0001"))
    assert_401(await wechat.send(request), "nonce already used")
    assert_401(await wechat.send(invalid), "nonce already used")
    assert (await counts(engine))["payments"] == 0


async def test_nonces_are_per_channel(
    wechat: ChannelClient, alipay: ChannelClient, bill: None
) -> None:
    nonce = "shared-nonce-0123456789"
    first = wechat.build("GET", "/v1/billers", nonce=nonce)
    second = alipay.build("GET", "/v1/billers", nonce=nonce)
    assert (await wechat.send(first)).status_code == 200
    assert (await alipay.send(second)).status_code == 200


async def test_secret_rotation_accepts_both_until_the_old_one_is_retired(
    http: httpx.AsyncClient, clock: FrozenClock, bill: None, engine: AsyncEngine, hub: Any
) -> None:
    new_secret = "rotated-wechat-secret-987654321"
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", new_secret=new_secret, actor="test"
        )
    await hub.directory.reload()
    old = ChannelClient(http, "WECHAT", SECRET, clock)
    new = ChannelClient(http, "WECHAT", new_secret, clock)
    assert (await old.call("GET", "/v1/billers")).status_code == 200
    assert (await new.call("GET", "/v1/billers")).status_code == 200
    async with engine.begin() as conn:
        await channels_service.update_channel(
            conn, clock, "WECHAT", retire_previous_secret=True, actor="test"
        )
    await hub.directory.reload()
    assert_401(await old.call("GET", "/v1/billers"), NOT_SIGNED)
    assert (await new.call("GET", "/v1/billers")).status_code == 200


async def test_secrets_never_appear_in_reprs(world: Any) -> None:
    assert SECRET not in repr(channel(world, "wechat"))


async def test_a_new_channel_is_usable_at_once_in_a_running_server(
    http: httpx.AsyncClient, clock: FrozenClock, bill: None, engine: AsyncEngine, hub: Any
) -> None:
    """The directory reloads on a miss, so a just-added channel need not wait for NOTIFY."""
    async with engine.begin() as conn:
        await channels_service.add_channel(
            conn, clock, code="UNIONPAY", secret="unionpay-secret-0123456789", actor="test"
        )
    hub.directory._loaded_at = 0.0  # as if the last reload was long ago
    client = ChannelClient(http, "UNIONPAY", "unionpay-secret-0123456789", clock)
    assert (await client.call("GET", "/v1/billers")).status_code == 200

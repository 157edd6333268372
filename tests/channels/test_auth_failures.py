"""Unauthenticated callers learn nothing, are counted in /metrics, and are slowed down when
they keep failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET
from tests.statements.test_statements import remote_water, signed
from tests.web.test_bad_input import assert_problem
from utilipay.channels.ratelimit import FailedAuthentications
from utilipay.clock import FrozenClock
from utilipay.web.app import create_app
from utilipay_tools.client import ChannelClient

__all__ = ["remote_water"]  # a fixture used here


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def from_elsewhere(hub: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client at another source address than the ``http`` fixture's."""
    transport = httpx.ASGITransport(app=create_app(hub), client=("203.0.113.9", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def test_every_unauthenticated_refusal_is_the_same_answer(
    http: httpx.AsyncClient, clock: FrozenClock, world: Any
) -> None:
    wechat = ChannelClient(http, "WECHAT", SECRET, clock)
    unknown = ChannelClient(http, "NOSUCH", SECRET, clock).build("GET", "/v1/billers")
    bad_signature = ChannelClient(http, "WECHAT", "not-the-secret-0123456", clock).build(
        "GET", "/v1/billers"
    )
    missing = wechat.build("GET", "/v1/billers")
    del missing.headers["X-Utilipay-Signature"]
    malformed = wechat.build("GET", "/v1/billers")
    malformed.headers["X-Utilipay-Nonce"] = "short"
    answers = [await http.send(r) for r in (unknown, bad_signature, missing, malformed)]
    assert {(r.status_code, r.content) for r in answers} == {(401, answers[0].content)}
    assert_problem(answers[0], 401, "UNAUTHENTICATED")


@pytest.fixture
def ticks(hub: Any) -> Ticks:
    """Three failures within a minute block for five minutes, on a clock the test moves."""
    clock = Ticks()
    hub.auth_failures = FailedAuthentications(3, window=60, block=300, monotonic=clock)
    return clock


async def billers(client: ChannelClient) -> httpx.Response:
    return await client.call("GET", "/v1/billers")


async def test_a_caller_that_keeps_failing_is_slowed_down_and_others_are_not(
    http: httpx.AsyncClient, from_elsewhere: httpx.AsyncClient, clock: FrozenClock, ticks: Ticks
) -> None:
    forger = ChannelClient(http, "WECHAT", "not-the-secret-0123456", clock)
    for _ in range(3):
        assert (await billers(forger)).status_code == 401
    refused = await billers(forger)
    assert_problem(refused, 429, "RATE_LIMITED")
    assert refused.headers["retry-after"] == "300"
    # blocked even with the right secret, from that address; WECHAT's own servers go on
    assert (await billers(ChannelClient(http, "WECHAT", SECRET, clock))).status_code == 429
    assert (
        await billers(ChannelClient(from_elsewhere, "WECHAT", SECRET, clock))
    ).status_code == 200
    ticks.now += 200
    assert (await billers(forger)).headers["retry-after"] == "100"
    ticks.now += 101
    assert (await billers(ChannelClient(http, "WECHAT", SECRET, clock))).status_code == 200


async def test_failures_spread_over_more_than_the_window_are_not_blocked(
    http: httpx.AsyncClient, clock: FrozenClock, ticks: Ticks
) -> None:
    forger = ChannelClient(http, "WECHAT", "not-the-secret-0123456", clock)
    for _ in range(6):
        assert (await billers(forger)).status_code == 401
        ticks.now += 31


async def test_an_address_trying_unknown_codes_is_slowed_down_whatever_it_names(
    http: httpx.AsyncClient, clock: FrozenClock, ticks: Ticks
) -> None:
    for code in ("GUESS1", "GUESS2", "GUESS3"):
        assert (await billers(ChannelClient(http, code, SECRET, clock))).status_code == 401
    assert_problem(await billers(ChannelClient(http, "GUESS4", SECRET, clock)), 429, "RATE_LIMITED")
    assert_problem(await billers(ChannelClient(http, "WECHAT", SECRET, clock)), 429, "RATE_LIMITED")


async def test_failed_authentications_are_in_the_metrics(
    http: httpx.AsyncClient,
    clock: FrozenClock,
    hub: Any,
    admin: dict[str, str],
) -> None:
    forger = ChannelClient(http, "WECHAT", "not-the-secret-0123456", clock)
    await forger.call("GET", "/v1/billers")
    await forger.call("GET", "/v1/billers")
    await ChannelClient(http, "NOSUCH", SECRET, clock).call("GET", "/v1/billers")
    exposition = (await http.get("/metrics", headers=admin)).text
    assert 'utilipay_auth_failures_total{address="",channel="WECHAT"} 2.0' in exposition
    assert 'utilipay_auth_failures_total{address="127.0.0.1",channel=""} 1.0' in exposition
    assert "utilipay_auth_blocked_callers 0.0" in exposition


def test_address_labels_are_bounded() -> None:
    failures = FailedAuthentications(100, 60, 300, max_addresses=2)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.1"):
        failures.failed(None, address)
    assert failures.counts == {("", "10.0.0.1"): 2, ("", "10.0.0.2"): 1, ("", "other"): 2}


def test_callers_tracked_are_bounded() -> None:
    failures = FailedAuthentications(2, 60, 300, max_tracked=3)
    for n in range(10):
        failures.failed(None, f"10.0.0.{n}")
    assert len(failures._callers) == 3


async def test_statement_refusals_do_not_tell_which_billers_exist(
    http: httpx.AsyncClient, clock: FrozenClock, remote_water: Any
) -> None:
    now, day = clock.now(), "20261121"
    answers = [
        await http.get(f"/biller/v1/statements/{code}/{day}", headers=headers)
        for code, headers in [
            ("RWATER", signed("RWATER", day, now, key="wrong-key-0123456")),  # exists, bad key
            ("NOSUCH", signed("NOSUCH", day, now)),  # no such biller
            ("BJWATER", signed("BJWATER", day, now)),  # hosted, not remote
            ("RWATER", {}),
        ]
    ]
    assert {(r.status_code, r.content) for r in answers} == {(401, answers[0].content)}

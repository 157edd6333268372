"""Delivering notifications through the channel: signed, retried with backoff, given up, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECRET
from tests.helpers import ACCOUNT, bill_line, import_bills, killed_mid_call
from tests.notify.test_notify_support import NOWHERE, dispatch, point_at, queued, undispatch
from tests.receivers import receiver
from utilipay.clock import FrozenClock
from utilipay.common import outgoing
from utilipay.notify.delivery import GIVE_UP_AFTER, LEASE, deliver_due_notifications
from utilipay.notify.providers import build_providers
from utilipay.notify.providers.base import Provider
from utilipay.notify.settings import NotifySettings
from utilipay.security.signing import canonical, sign
from utilipay_tools.client import ChannelClient


@pytest.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    client = outgoing.http_client(10.0, 3.0)
    yield client
    await client.aclose()


@pytest.fixture
def providers(outbound: httpx.AsyncClient, hub: Any, tmp_path: Path) -> dict[str, Provider]:
    settings = NotifySettings(
        notify_log=tmp_path / "notifications.log", smtp_host=None, sms_url=None
    )
    return build_providers(settings, outbound, hub.directory.channel_by_id)


async def _bill_for_a_bound_payer(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    bind = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": ACCOUNT}
    assert (await wechat.call("POST", "/v1/bindings", json=bind)).status_code == 201
    assert await dispatch(engine, clock, hub) == 1


async def attempts(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT attempt, provider, destination, acknowledged, status_code, error"
                " FROM notification_attempts ORDER BY notification_id, attempt"
            )
        )
        return [tuple(r) for r in rows]


async def test_a_message_is_posted_to_the_channel_signed_as_a_webhook(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    with receiver() as hooks:
        await point_at(engine, clock, hub, "WECHAT", hooks.url)
        await _bill_for_a_bound_payer(engine, clock, hub, wechat)
        done = await deliver_due_notifications(engine, clock, providers)
        assert (done.attempted, done.results) == (1, {"sent": 1})
    (got,) = hooks.received
    (sent,) = await queued(engine)
    assert json.loads(got.body) == {
        "type": "notification",
        "data": {
            "id": sent.id,
            "payer": "wx-openid-abc",
            "template": "bill.issued",
            "params": sent.params,
            "text": {"zh-CN": sent.text["zh-CN"], "en": sent.text["en"]},
        },
    }
    assert sent.id.startswith("N")
    headers = got.headers
    assert headers["x-utilipay-channel"] == "UTILIPAY"
    assert int(headers["x-utilipay-timestamp"]) == int(clock.now().timestamp())
    message = canonical(
        "POST", got.path, headers["x-utilipay-timestamp"], headers["x-utilipay-nonce"], got.body
    )
    assert headers["x-utilipay-signature"] == sign(SECRET, message)
    assert (sent.status, sent.attempts, sent.sent_at) == ("SENT", 1, clock.now())
    assert await attempts(engine) == [(1, "channel", hooks.url, True, 200, None)]
    assert (await deliver_due_notifications(engine, clock, providers)).attempted == 0


async def test_failures_are_retried_with_growing_jittered_delays(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    with receiver(500, 503, 404) as hooks:
        await point_at(engine, clock, hub, "WECHAT", hooks.url)
        await _bill_for_a_bound_payer(engine, clock, hub, wechat)
        waits = []
        for expected in ("retry", "retry", "retry", "sent"):
            assert (await deliver_due_notifications(engine, clock, providers)).results == {
                expected: 1
            }
            assert (await deliver_due_notifications(engine, clock, providers)).attempted == 0
            (pending,) = await queued(engine)
            if pending.status == "PENDING":
                due = await _next_attempt_at(engine)
                waits.append((due - clock.now()).total_seconds())
                clock.set(due)
    assert 2.5 <= waits[0] <= 5 and 5 <= waits[1] <= 10 and 10 <= waits[2] <= 20
    assert len(hooks.received) == 4
    assert [(a[0], a[3], a[4]) for a in await attempts(engine)] == [
        (1, False, 500),
        (2, False, 503),
        (3, False, 404),
        (4, True, 200),
    ]


async def _next_attempt_at(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT next_attempt_at FROM notifications"))).scalar_one()


async def _until_settled(
    engine: AsyncEngine, clock: FrozenClock, providers: dict[str, Provider], **options: Any
) -> int:
    tries = 0
    while (await queued(engine))[0].status == "PENDING":
        result = await deliver_due_notifications(engine, clock, providers, **options)
        assert result.results in ({"retry": 1}, {"gave up": 1})
        tries += 1
        due = await _next_attempt_at(engine)
        if due is not None:
            clock.set(due)
    return tries


async def test_an_unreachable_channel_is_tried_for_a_day_then_given_up(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await _bill_for_a_bound_payer(engine, clock, hub, wechat)
    start = clock.now()
    tries = await _until_settled(engine, clock, providers)
    assert GIVE_UP_AFTER <= clock.now() - start <= GIVE_UP_AFTER + timedelta(hours=1)
    (given_up,) = await queued(engine)
    assert (given_up.status, given_up.attempts) == ("GAVE_UP", tries)
    assert tries > 25
    logged = await attempts(engine)
    assert all(not a[3] and a[4] is None and "ConnectError" in a[5] for a in logged)


async def test_the_give_up_time_is_configurable(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await _bill_for_a_bound_payer(engine, clock, hub, wechat)
    start = clock.now()
    await _until_settled(engine, clock, providers, give_up_after=timedelta(minutes=2))
    # given up at the first attempt after two minutes; the delay before it is at most 160 s
    assert timedelta(minutes=2) <= clock.now() - start <= timedelta(minutes=2, seconds=160)
    assert (await queued(engine))[0].status == "GAVE_UP"


async def test_dispatching_and_delivering_twice_sends_once(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    with receiver() as hooks:
        await point_at(engine, clock, hub, "WECHAT", hooks.url)
        await _bill_for_a_bound_payer(engine, clock, hub, wechat)
        await undispatch(engine)
        await dispatch(engine, clock, hub)
        outcomes = await asyncio.gather(
            deliver_due_notifications(engine, clock, providers),
            deliver_due_notifications(engine, clock, providers),
        )
        assert {"sent": 1} in [o.results for o in outcomes]
    assert len(hooks.received) == 1


async def test_a_message_with_no_provider_for_its_kind_is_retried_and_logged(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await _bill_for_a_bound_payer(engine, clock, hub, wechat)
    without_channel = {k: v for k, v in providers.items() if k != "channel"}
    assert (await deliver_due_notifications(engine, clock, without_channel)).results == {"retry": 1}
    assert await attempts(engine) == [(1, "", "", False, None, "no provider for channel")]


async def test_no_lock_is_held_while_the_channel_answers_and_a_killed_send_is_retried(
    engine: AsyncEngine,
    clock: FrozenClock,
    hub: Any,
    wechat: ChannelClient,
    providers: dict[str, Provider],
) -> None:
    with receiver(delay=1.0) as hooks:
        await point_at(engine, clock, hub, "WECHAT", hooks.url)
        await _bill_for_a_bound_payer(engine, clock, hub, wechat)
        done = await killed_mid_call(
            engine, clock, "notifications", LEASE,
            lambda: deliver_due_notifications(engine, clock, providers),
            lambda: len(hooks.received) == 1,
        )  # fmt: skip
        assert done.results == {"sent": 1}
    assert len(hooks.received) == 2  # at least once: recipients dedupe on its id
    (sent,) = await queued(engine)
    assert (sent.status, sent.attempts) == ("SENT", 2)
    assert await attempts(engine) == [(2, "channel", hooks.url, True, 200, None)]

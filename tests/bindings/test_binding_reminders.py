"""A binding's reminder choice through the channel API (hub extension of §4):
``GET /v1/bindings/{id}`` shows it, ``PATCH`` changes the fields given."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import ACCOUNT, audited_actors, bill_line, import_bills
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

BIND = {"payer": "wx-openid-abc", "biller": "BJWATER", "account": ACCOUNT}
INHERITED = {"kinds": None, "days_before": None, "means": None}


@pytest.fixture
async def binding(engine: AsyncEngine, clock: FrozenClock, wechat: ChannelClient) -> str:
    await import_bills(engine, clock, bill_line("B202610-0001"))
    bound = await wechat.call("POST", "/v1/bindings", json=BIND)
    assert bound.status_code == 201
    binding_id: str = bound.json()["id"]
    return binding_id


async def _patch(wechat: ChannelClient, binding: str, body: Any) -> Any:
    return await wechat.call("PATCH", f"/v1/bindings/{binding}", json=body)


async def test_a_binding_shows_and_changes_its_reminder_choice(
    wechat: ChannelClient, binding: str, engine: AsyncEngine
) -> None:
    shown = await wechat.call("GET", f"/v1/bindings/{binding}")
    assert shown.status_code == 200
    assert shown.json()["reminders"] == INHERITED
    assert shown.json()["account"] == ACCOUNT and shown.json()["holder"] == "张*"

    chosen = {"kinds": ["due_soon", "overdue"], "days_before": 5, "means": ["channel", "sms"]}
    changed = await _patch(wechat, binding, {"reminders": chosen})
    assert changed.status_code == 200, changed.text
    assert changed.json()["reminders"] == chosen
    # only the fields given change; null makes one inherited again
    again = await _patch(wechat, binding, {"reminders": {"days_before": None}})
    assert again.json()["reminders"] == {**chosen, "days_before": None}
    shown = await wechat.call("GET", f"/v1/bindings/{binding}")
    assert shown.json()["reminders"] == {**chosen, "days_before": None}
    assert await audited_actors(engine, "binding.reminders_changed") == [
        "channel:WECHAT",
        "channel:WECHAT",
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"reminders": {"kinds": ["weekly"]}}, "reminders.kinds.0"),
        ({"reminders": {"days_before": 31}}, "reminders.days_before"),
        ({"reminders": {"days_before": "3"}}, "reminders.days_before"),
        ({"reminders": {"means": ["sms", "sms"]}}, "each value may be given once"),
        ({"reminders": {"means": ["pigeon"]}}, "reminders.means.0"),
        ({"kinds": ["issued"]}, "reminders: Field required"),
    ],
)
async def test_a_bad_choice_is_refused_and_changes_nothing(
    wechat: ChannelClient, binding: str, engine: AsyncEngine, body: Any, says: str
) -> None:
    refused = await _patch(wechat, binding, body)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "MALFORMED_REQUEST" and says in refused.json()["detail"]
    async with engine.connect() as conn:
        kept = (
            await conn.execute(text("SELECT remind_days_before, remind_kinds FROM bindings"))
        ).one()
    assert tuple(kept) == (None, None)


async def test_another_channel_s_or_an_unknown_binding_is_refused(
    wechat: ChannelClient, alipay: ChannelClient, binding: str
) -> None:
    body = {"reminders": {"days_before": 1}}
    for method, json in (("GET", None), ("PATCH", body)):
        theirs = await alipay.call(method, f"/v1/bindings/{binding}", json=json)
        assert (theirs.status_code, theirs.json()["code"]) == (403, "FORBIDDEN")
        unknown = await wechat.call(method, "/v1/bindings/BD-NOPE", json=json)
        assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    assert (await wechat.call("DELETE", f"/v1/bindings/{binding}")).status_code == 204
    gone = await _patch(wechat, binding, body)
    assert gone.status_code == 404

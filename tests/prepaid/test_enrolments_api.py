"""``/v1/prepaid/enrolments`` (channel-api.md §13): smart payment (智能交费) signed up by a
payer at a channel: the reminder amount and the automatic top-up's mandate."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.autopay.test_autopay import SOURCES, bind, debits, run_until, sh
from tests.helpers import ACCOUNT, audited_actors, open_customer_account, prepaid_ready
from tests.prepaid.test_prepaid_topup import account
from utilipay.clock import FrozenClock
from utilipay_tools.client import ChannelClient

PAYER = "wx-payer"
PATH = "/v1/prepaid/enrolments"


def body(**more: Any) -> dict[str, Any]:
    return {"payer": PAYER, "biller": "BJWATER", "account": ACCOUNT, "reminder": 2000} | more


async def ready(engine: AsyncEngine, clock: FrozenClock, *, tariff: bool = True) -> None:
    """A hosted water account, not prepaid yet, ready for it (a tariff, a meter)."""
    async with engine.begin() as conn:
        await open_customer_account(conn, "BJWATER", ACCOUNT)
        if tariff:
            await prepaid_ready(conn, clock, "BJWATER", ACCOUNT, tariff="BJ_WATER_RES")


async def enrolled(wechat: ChannelClient, **more: Any) -> dict[str, Any]:
    await bind(wechat, PAYER)
    r = await wechat.call("POST", PATH, json=body(**more))
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        found: int = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        return found


async def mandate_row(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM mandates"))).one()


async def test_enrolling_without_top_up_opens_the_balance_with_the_reminder(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    got = await enrolled(wechat)
    assert got["id"].startswith("E")
    assert {k: got[k] for k in ("payer", "biller", "account", "reminder", "balance", "state")} == {
        "payer": PAYER, "biller": "BJWATER", "account": ACCOUNT, "reminder": 2000,
        "balance": 0, "state": "ARREARS",
    }  # fmt: skip
    assert (got["mandate"], got["topup_amount"], got["funding_sources"]) == (None, None, [])
    assert (await account(engine)).reminder == 2000
    assert await count(engine, "mandates") == 0
    for action in ("prepaid.enroll", "enrolment.created"):
        assert await audited_actors(engine, action) == [f"channel:{wechat.code}"]
    shown = await wechat.call("GET", f"{PATH}/{got['id']}")
    assert (shown.status_code, shown.json()) == (200, got)
    listed = await wechat.call("GET", f"{PATH}?payer={PAYER}")
    assert listed.json() == {"enrolments": [got]}


async def test_enrolling_with_top_up_signs_the_mandate_and_a_low_balance_is_topped_up(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    got = await enrolled(wechat, topup_amount=5000, funding_sources=SOURCES)
    assert (got["topup_amount"], got["funding_sources"]) == (5000, SOURCES)
    mandate = await mandate_row(engine)
    assert (got["mandate"], mandate.topup_amount, mandate.status) == (mandate.id, 5000, "ACTIVE")
    await run_until(autopay, clock, sh("2026-11-23 12:00"))  # enrolled at zero: below 2000
    (first,) = await debits(engine)
    assert (first.purpose, first.status, first.amount) == ("prepaid_topup", "SUCCEEDED", 5000)
    assert ((await account(engine)).balance, (await account(engine)).state) == (5000, "NORMAL")

    # a reminder raised above the balance makes it low at once: the next pass tops it up
    raised = await wechat.call("PATCH", f"{PATH}/{got['id']}", json={"reminder": 8000})
    assert (raised.status_code, raised.json()["state"]) == (200, "LOW"), raised.text
    await run_until(autopay, clock, sh("2026-11-23 14:00"))
    assert [d.status for d in await debits(engine)] == ["SUCCEEDED", "SUCCEEDED"]
    assert (await account(engine)).balance == 10000


async def test_each_field_changes_and_a_null_top_up_cancels_the_mandate(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    got = await enrolled(wechat)
    one = f"{PATH}/{got['id']}"

    async def patch(change: dict[str, Any]) -> dict[str, Any]:
        r = await wechat.call("PATCH", one, json=change)
        assert r.status_code == 200, r.text
        changed: dict[str, Any] = r.json()
        return changed

    assert (await patch({"reminder": 3000}))["reminder"] == 3000
    assert (await account(engine)).reminder == 3000
    alone = await wechat.call("PATCH", one, json={"topup_amount": 4000})
    assert (alone.status_code, alone.json()["code"]) == (400, "MALFORMED_REQUEST")
    signed = await patch({"topup_amount": 4000, "funding_sources": SOURCES})
    assert (signed["topup_amount"], signed["mandate"]) == (4000, (await mandate_row(engine)).id)
    assert (await patch({"topup_amount": 6000}))["topup_amount"] == 6000
    reordered = await patch({"funding_sources": SOURCES[::-1]})
    assert reordered["funding_sources"] == SOURCES[::-1]
    assert (await mandate_row(engine)).funding_sources == SOURCES[::-1]
    cancelled = await patch({"topup_amount": None})
    assert (cancelled["mandate"], cancelled["topup_amount"], cancelled["reminder"]) == (
        None, None, 3000
    )  # fmt: skip
    assert (await mandate_row(engine)).status == "CANCELLED"
    async with engine.connect() as conn:
        trail = await conn.execute(
            text("SELECT actor, before, after FROM audit_log WHERE action = 'enrolment.changed'"
                 " ORDER BY id")
        )  # fmt: skip
        changes = list(trail)
    assert len(changes) == 5
    assert {c.actor for c in changes} == {f"channel:{wechat.code}"}
    assert (changes[-1].before["topup_amount"], changes[-1].after["topup_amount"]) == (6000, None)


async def test_enrolling_again_is_idempotent_and_other_settings_conflict(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    got = await enrolled(wechat, topup_amount=5000, funding_sources=SOURCES)
    again = await wechat.call("POST", PATH, json=body(topup_amount=5000, funding_sources=SOURCES))
    assert (again.status_code, again.json()) == (200, got)
    for other in (body(reminder=2500), body()):  # another reminder; no top-up
        r = await wechat.call("POST", PATH, json=other)
        assert (r.status_code, r.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")
        assert f"PATCH /v1/prepaid/enrolments/{got['id']}" in r.json()["detail"]
    assert ((await account(engine)).reminder, await count(engine, "mandates")) == (2000, 1)


async def test_twin_requests_at_once_make_one_enrolment(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    await bind(wechat, PAYER)
    twin = body(topup_amount=5000, funding_sources=SOURCES)
    answers = await asyncio.gather(*(wechat.call("POST", PATH, json=twin) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], answers[0].text
    assert len({r.json()["id"] for r in answers}) == 1
    assert (await count(engine, "enrolments"), await count(engine, "mandates")) == (1, 1)


async def test_another_channels_id_is_not_found(
    wechat: ChannelClient, alipay: ChannelClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    got = await enrolled(wechat)
    await bind(alipay, PAYER)
    for method, change in (("GET", None), ("PATCH", {"reminder": 1})):
        r = await alipay.call(method, f"{PATH}/{got['id']}", json=change)
        assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    unknown = await wechat.call("GET", f"{PATH}/E-NOT-THERE")
    assert unknown.json()["detail"] == (await alipay.call("GET", f"{PATH}/{got['id']}")).json()[
        "detail"
    ].replace(got["id"], "E-NOT-THERE")
    assert (await account(engine)).reminder == 2000


async def test_without_a_binding_it_is_forbidden_and_nothing_is_written(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    r = await wechat.call("POST", PATH, json=body(topup_amount=5000, funding_sources=SOURCES))
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")
    got = await enrolled(wechat)
    await wechat.call("DELETE", f"/v1/bindings/{(await bind(wechat, PAYER))['id']}")
    for method, change in (("GET", None), ("PATCH", {"reminder": 1})):
        refused = await wechat.call(method, f"{PATH}/{got['id']}", json=change)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    assert (await wechat.call("GET", f"{PATH}?payer={PAYER}")).json() == {"enrolments": []}
    assert ((await account(engine)).reminder, await count(engine, "mandates")) == (2000, 0)


async def test_an_unverified_binding_must_be_verified_first(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    """Smart payment shows a balance and may take money: §13's verified binding, whatever
    the utility's mode (BJWATER binds without proof)."""
    await ready(engine, clock)
    plain = {"payer": PAYER, "biller": "BJWATER", "account": ACCOUNT}
    assert (await wechat.call("POST", "/v1/bindings", json=plain)).json()["verified"] is False
    r = await wechat.call("POST", PATH, json=body())
    assert (r.status_code, r.json()["code"]) == (403, "VERIFICATION_REQUIRED")
    assert await count(engine, "enrolments") == 0
    got = await enrolled(wechat)  # bound again with the holder's name: verified
    assert (await wechat.call("GET", f"{PATH}/{got['id']}")).status_code == 200


async def test_bad_input_is_refused_and_writes_nothing(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    await bind(wechat, PAYER)
    six = [{"id": f"card-{n}"} for n in range(6)]
    refusals = [
        (body(reminder=-1), 400, "MALFORMED_REQUEST"),
        (body(reminder=20.5), 400, "MALFORMED_REQUEST"),
        (body(topup_amount=50.5, funding_sources=SOURCES), 400, "MALFORMED_REQUEST"),
        (body(topup_amount=5000, funding_sources=six), 400, "MALFORMED_REQUEST"),
        (body(topup_amount=5000), 400, "MALFORMED_REQUEST"),  # from which sources?
        (body(funding_sources=SOURCES), 400, "MALFORMED_REQUEST"),  # for which top-up?
        (body(topup_amount=0, funding_sources=SOURCES), 422, "AMOUNT_OUT_OF_RANGE"),
        (body(topup_amount=100001, funding_sources=SOURCES), 422, "AMOUNT_OUT_OF_RANGE"),
        (body(account="0012345678"), 422, "INVALID_ACCOUNT"),
    ]
    for refused, status, code in refusals:
        r = await wechat.call("POST", PATH, json=refused)
        assert (r.status_code, r.json()["code"]) == (status, code), refused
    for table in ("prepaid_accounts", "mandates", "enrolments"):
        assert await count(engine, table) == 0, table
    for action in ("prepaid.enroll", "enrolment.created"):
        assert await audited_actors(engine, action) == []


async def test_an_account_not_ready_for_prepaid_is_refused_precisely(
    wechat: ChannelClient, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock, tariff=False)
    await bind(wechat, PAYER)
    r = await wechat.call("POST", PATH, json=body())
    assert (r.status_code, r.json()["code"]) == (409, "TARIFF_REQUIRED")
    assert "no tariff for its residential customers" in r.json()["detail"]
    assert await count(engine, "enrolments") == 0


async def test_a_second_top_up_mandate_on_the_account_is_refused(
    wechat: ChannelClient, autopay: Any, engine: AsyncEngine, clock: FrozenClock
) -> None:
    await ready(engine, clock)
    await enrolled(wechat, topup_amount=5000, funding_sources=SOURCES)
    await bind(wechat, "wx-tenant")
    tenant = body(payer="wx-tenant", topup_amount=5000, funding_sources=SOURCES)
    r = await wechat.call("POST", PATH, json=tenant)
    assert (r.status_code, r.json()["code"]) == (409, "MANDATE_EXISTS")
    assert await count(engine, "enrolments") == 1

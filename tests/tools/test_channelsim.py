"""The channel simulator: a wallet app at the other end of channel-api.md §7, §9 and §10.

Every request is signed exactly as the hub signs one (``signed_headers`` with
the hub's code ``UTILIPAY`` and the channel's secret); no database is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import typer
import uvicorn
from starlette.applications import Starlette
from typer.testing import CliRunner

from tests.conftest import START
from utilipay.channels.auth import NOT_SIGNED
from utilipay.clock import FrozenClock
from utilipay.security.signing import new_nonce, signed_headers
from utilipay.web.server import ServerThread
from utilipay_tools.channelsim.app import app_for, create_app, simulator_of
from utilipay_tools.channelsim.debits import LedgerEntry
from utilipay_tools.channelsim.outcomes import Outcome, OutcomePlan
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig
from utilipay_tools.cli import channelsim as cli

SECRET = "channel-sim-secret-0123456789"
OLD_SECRET = "channel-sim-old-secret-0123456789"
PAYER = "wx-openid-demo-zhangsan"
Sim = Callable[..., "SimClient"]


# ---------------------------------------------------------------- signing as the hub does


def signed(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    params: dict[str, str] | None = None,
    secret: str = SECRET,
    channel: str = "UTILIPAY",
    skew: int = 0,
    at: int | None = None,
    nonce: str | None = None,
) -> httpx.Request:
    """A request signed as the hub signs one, at ``at`` (Unix time, START by default) plus
    ``skew`` seconds."""
    content = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
    request = http.build_request(
        method, path, content=content, params=params, headers={"Content-Type": "application/json"}
    )
    timestamp = (int(START.timestamp()) if at is None else at) + skew
    path_qs = request.url.raw_path.decode("ascii")
    request.headers.update(
        signed_headers(channel, secret, method, path_qs, content, timestamp, nonce or new_nonce())
    )
    return request


def debit(debit_id: str = "D01", source: str = "card-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "debit_id": debit_id,
        "mandate_id": "M01",
        "payer": PAYER,
        "funding_source": source,
        "amount": 12345,
        "currency": "CNY",
        "purpose": "autopay",
        "biller": "BJWATER",
        "account": "0112345678",
        "bill_nos": ["B202610-0001"],
    }
    body.update(changes)
    return body


async def post_debit(http: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await http.send(signed(http, "POST", "/debits", body=body, **kwargs))


async def get_debit(
    http: httpx.AsyncClient, debit_id: str = "D01", source: str = "card-1"
) -> httpx.Response:
    params = {"funding_source": source}
    return await http.send(signed(http, "GET", f"/debits/{debit_id}", params=params))


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    code: str = response.json()["code"]
    return code


class SimClient(httpx.AsyncClient):
    """An httpx client on a simulator's app, in process; ``sim`` is the simulator."""

    def __init__(self, sim: ChannelSim) -> None:
        transport = httpx.ASGITransport(app=app_for(sim))
        super().__init__(transport=transport, base_url="http://channel.test")
        self.sim = sim


@pytest.fixture
async def make_sim(clock: FrozenClock) -> AsyncIterator[Sim]:
    """``make_sim(**config)``: a client on a new simulator on the test's clock."""
    clients: list[SimClient] = []

    def make(**config: Any) -> SimClient:
        client = SimClient(ChannelSim(ChannelSimConfig(secret=SECRET, **config), clock))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# ---------------------------------------------------------------- outcomes


def test_outcome_plans_are_parsed_strictly() -> None:
    plan = OutcomePlan.parse(" card-1=declined, balance = success ,*=insufficient")
    assert plan.outcome_for("card-1") is Outcome.DECLINED
    assert plan.outcome_for("balance") is Outcome.SUCCESS
    assert plan.outcome_for("card-9") is Outcome.INSUFFICIENT
    assert OutcomePlan.parse(plan.spec()) == plan
    assert OutcomePlan.parse("") == OutcomePlan() == OutcomePlan.parse("*=success")
    assert OutcomePlan.parse("").outcome_for("anything") is Outcome.SUCCESS

    def refusal(spec: str) -> str:
        with pytest.raises(ValueError) as refused:
            OutcomePlan.parse(spec)
        return str(refused.value)

    assert refusal("card-1=declined,") == "empty entry in 'card-1=declined,' (a stray comma?)"
    assert refusal("declined") == "'declined' must be written funding_source=outcome"
    assert refusal("card-1=refused") == (
        "unknown outcome 'refused' for 'card-1'; "
        "known: success, declined, insufficient, processing, timeout"
    )
    assert refusal("card-1=success,card-1=declined") == (
        "funding source 'card-1' is given twice in 'card-1=success,card-1=declined'"
    )
    assert refusal("*=success,*=timeout").startswith("funding source '*' is given twice")
    assert refusal("card 1=success").startswith("funding source 'card 1' must be 1-64 characters")
    assert refusal("=success").startswith("funding source '' must be")


def test_the_configuration_is_checked() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"secret": ""}, "the secret must not be empty"),
        ({"settle_after": 0}, "settle_after must be 1 or more, not 0"),
        ({"timeout_delay": -1.0}, "timeout_delay must be 0 or more"),
        ({"fail_webhooks": -1}, "fail_webhooks must be 0 or more"),
        ({"base": "wallet"}, "base 'wallet' must start with '/'"),
        ({"base": "/wallet/"}, "base '/wallet/' must start with '/' and not end with one"),
    ]
    for wrong, message in cases:
        with pytest.raises(ValueError, match=message):
            ChannelSimConfig(**{"secret": SECRET, **wrong})


async def test_a_successful_debit_takes_the_money_once(make_sim: Sim) -> None:
    http = make_sim()
    response = await post_debit(http, debit())
    assert response.status_code == 200
    answer = response.json()
    assert answer == {"debit_id": "D01", "status": "SUCCEEDED", "channel_txn_id": "CT0000000001"}
    assert http.sim.ledger() == (LedgerEntry("D01", "card-1", PAYER, 12345, "CT0000000001", START),)
    assert (await get_debit(http)).json() == answer
    ledger = await http.send(signed(http, "GET", "/ledger"))
    assert ledger.json() == {
        "entries": [
            {
                "debit_id": "D01",
                "funding_source": "card-1",
                "payer": PAYER,
                "amount": 12345,
                "currency": "CNY",
                "channel_txn_id": "CT0000000001",
                "at": "2026-11-22T15:30:00+08:00",
            }
        ],
        "total": 12345,
    }


@pytest.mark.parametrize(
    ("outcome", "status"), [("declined", "DECLINED"), ("insufficient", "INSUFFICIENT_FUNDS")]
)
async def test_a_refused_debit_takes_nothing(make_sim: Sim, outcome: str, status: str) -> None:
    http = make_sim(outcomes=OutcomePlan.parse(f"*={outcome}"))
    first = await post_debit(http, debit())
    assert first.json() == {"debit_id": "D01", "status": status, "channel_txn_id": None}
    assert (await post_debit(http, debit())).json() == first.json()
    assert (await get_debit(http)).json() == first.json()
    assert http.sim.ledger() == ()


async def test_outcomes_per_funding_source_the_next_source_pays(make_sim: Sim) -> None:
    http = make_sim(outcomes=OutcomePlan.parse("card-1=declined,card-2=insufficient"))
    statuses = [
        (await post_debit(http, debit(source=source))).json()["status"]
        for source in ("card-1", "card-2", "balance")
    ]
    assert statuses == ["DECLINED", "INSUFFICIENT_FUNDS", "SUCCEEDED"]
    assert [(e.debit_id, e.funding_source) for e in http.sim.ledger()] == [("D01", "balance")]
    assert http.sim.taken_twice() == []


async def test_a_processing_debit_is_taken_at_once_and_settled_by_a_lookup(
    make_sim: Sim,
) -> None:
    http = make_sim(outcomes=OutcomePlan.parse("card-1=processing"))
    first = (await post_debit(http, debit())).json()
    assert first["status"] == "PROCESSING"
    assert len(http.sim.ledger()) == 1  # the money is gone whatever the answer says
    assert (await post_debit(http, debit())).json() == first  # a repeat does not settle it
    settled = (await get_debit(http)).json()
    assert settled == {**first, "status": "SUCCEEDED"}
    assert (await post_debit(http, debit())).json() == settled
    assert len(http.sim.ledger()) == 1


async def test_how_many_lookups_settle_a_processing_debit_is_configurable(make_sim: Sim) -> None:
    http = make_sim(outcomes=OutcomePlan.parse("*=processing"), settle_after=3)
    await post_debit(http, debit())
    statuses = [(await get_debit(http)).json()["status"] for _ in range(4)]
    assert statuses == ["PROCESSING", "PROCESSING", "SUCCEEDED", "SUCCEEDED"]


async def test_outcomes_switch_at_run_time_for_debits_not_yet_seen(make_sim: Sim) -> None:
    http = make_sim()
    assert (await post_debit(http, debit("D01"))).json()["status"] == "SUCCEEDED"
    http.sim.outcomes = OutcomePlan.parse("card-1=declined")
    assert (await post_debit(http, debit("D02"))).json()["status"] == "DECLINED"
    assert (await post_debit(http, debit("D01"))).json()["status"] == "SUCCEEDED"  # on record

    switch = signed(http, "PUT", "/outcomes", body={"outcomes": "*=insufficient"})
    assert (await http.send(switch)).json() == {"outcomes": "*=insufficient"}
    assert (await post_debit(http, debit("D03"))).json()["status"] == "INSUFFICIENT_FUNDS"
    shown = await http.send(signed(http, "GET", "/outcomes"))
    assert shown.json() == {"outcomes": "*=insufficient"}

    wrong = await http.send(signed(http, "PUT", "/outcomes", body={"outcomes": "*=maybe"}))
    assert wrong.status_code == 400
    assert wrong.json()["detail"].startswith("unknown outcome 'maybe' for '*'")
    assert http.sim.outcomes == OutcomePlan.parse("*=insufficient")


# ---------------------------------------------------------------- idempotency


async def test_the_same_debit_and_source_is_answered_from_the_record(make_sim: Sim) -> None:
    http = make_sim(outcomes=OutcomePlan.parse("card-1=declined"))
    assert (await post_debit(http, debit(source="card-1"))).json()["status"] == "DECLINED"
    http.sim.outcomes = OutcomePlan()  # a repeat is not decided again
    assert (await post_debit(http, debit(source="card-1"))).json()["status"] == "DECLINED"
    paid = (await post_debit(http, debit(source="balance"))).json()
    assert (await post_debit(http, debit(source="balance"))).json() == paid
    assert len(http.sim.ledger()) == 1

    other = await post_debit(http, debit(source="balance", amount=99))
    assert other.status_code == 409
    assert problem_code(other) == "IDEMPOTENCY_CONFLICT"
    assert len(http.sim.ledger()) == 1


@pytest.mark.parametrize("outcome", ["success", "processing", "timeout"])
async def test_concurrent_duplicates_take_the_money_once(make_sim: Sim, outcome: str) -> None:
    http = make_sim(outcomes=OutcomePlan.parse(f"*={outcome}"), timeout_delay=0.05)
    answers = await asyncio.gather(*(post_debit(http, debit()) for _ in range(20)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["channel_txn_id"] for r in answers}) == 1
    assert len(http.sim.ledger()) == 1


async def test_two_sources_paying_one_debit_are_reported(make_sim: Sim) -> None:
    """The sim takes what it is asked to; ``taken_twice`` shows a hub that asked twice."""
    http = make_sim()
    await post_debit(http, debit(source="card-1"))
    await post_debit(http, debit(source="balance"))
    await post_debit(http, debit("D02"))
    assert http.sim.taken_twice() == ["D01"]


async def test_a_timed_out_debit_was_taken_and_its_lookup_says_so() -> None:
    config = ChannelSimConfig(
        secret=SECRET, outcomes=OutcomePlan.parse("card-1=timeout"), timeout_delay=1.0
    )
    sim = ChannelSim(config)  # on the system clock, as behind a real socket
    with ServerThread(app_for(sim)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=0.3) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.send(signed(http, "POST", "/debits", body=debit(), at=int(time.time())))
            assert len(sim.ledger()) == 1
            params = {"funding_source": "card-1"}
            lookup = await http.send(
                signed(http, "GET", "/debits/D01", params=params, at=int(time.time()))
            )
            assert lookup.json()["status"] == "SUCCEEDED"
            again = signed(http, "POST", "/debits", body=debit(), at=int(time.time()))
            assert (await http.send(again)).json() == lookup.json()  # at once, from the record
    assert len(sim.ledger()) == 1


async def test_duplicates_over_real_connections_take_the_money_once() -> None:
    sim = ChannelSim(ChannelSimConfig(secret=SECRET))
    with ServerThread(app_for(sim)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            requests = [
                signed(http, "POST", "/debits", body=debit(), at=int(time.time()))
                for _ in range(16)
            ]
            answers = await asyncio.gather(*(http.send(r) for r in requests))
    assert len({r.content for r in answers}) == 1
    assert [e.debit_id for e in sim.ledger()] == ["D01"]


# ---------------------------------------------------------------- refusals


async def test_only_the_hub_s_signature_is_accepted(make_sim: Sim) -> None:
    http = make_sim()
    forged = await post_debit(http, debit(), secret="not-the-channel-secret-0123")
    assert forged.status_code == 401
    assert problem_code(forged) == "UNAUTHENTICATED"
    assert forged.json()["detail"] == NOT_SIGNED
    not_the_hub = await post_debit(http, debit(), channel="WECHAT")
    assert not_the_hub.json()["detail"] == NOT_SIGNED

    unsigned = await http.post("/debits", json=debit())
    assert unsigned.status_code == 401
    assert unsigned.json()["detail"] == NOT_SIGNED

    request = signed(http, "POST", "/debits", body=debit())
    tampered = http.build_request(
        "POST", "/debits", content=orjson.dumps(debit(amount=1)), headers=request.headers
    )
    assert (await http.send(tampered)).json()["detail"] == NOT_SIGNED

    other_query = signed(http, "GET", "/debits/D01", params={"funding_source": "card-1"})
    other_query.url = other_query.url.copy_with(query=b"funding_source=card-2")
    assert (await http.send(other_query)).json()["detail"] == NOT_SIGNED
    assert http.sim.ledger() == ()


async def test_both_secrets_are_accepted_during_a_rotation(make_sim: Sim) -> None:
    http = make_sim(previous_secret=OLD_SECRET)
    assert (await post_debit(http, debit("D01"), secret=OLD_SECRET)).status_code == 200
    assert (await post_debit(http, debit("D02"), secret=SECRET)).status_code == 200
    without_rotation = make_sim()
    assert (await post_debit(without_rotation, debit(), secret=OLD_SECRET)).status_code == 401


async def test_a_stale_timestamp_is_refused(make_sim: Sim) -> None:
    http = make_sim()
    for skew in (-301, 301):
        response = await post_debit(http, debit(), skew=skew)
        assert response.status_code == 401
        assert "more than 300 s away" in response.json()["detail"]
    for skew in (-300, 300):
        assert (await post_debit(http, debit(f"D{skew + 1000}"), skew=skew)).status_code == 200


async def test_a_nonce_is_not_taken_twice_within_ten_minutes(
    make_sim: Sim, clock: FrozenClock
) -> None:
    http = make_sim()
    nonce = new_nonce()
    refused = await post_debit(http, debit(amount=1.5), nonce=nonce)
    assert refused.status_code == 400  # refused, and its nonce is spent all the same
    replay = await post_debit(http, debit(), nonce=nonce)
    assert replay.status_code == 401
    assert replay.json()["detail"] == "nonce already used"
    assert http.sim.ledger() == ()

    clock.advance(timedelta(seconds=599))
    assert (await post_debit(http, debit(), nonce=nonce, skew=599)).status_code == 401
    clock.advance(timedelta(seconds=1))
    assert (await post_debit(http, debit(), nonce=nonce, skew=600)).status_code == 200


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"amount": 123.45}, "amount"),
        ({"amount": 12345.0}, "amount"),
        ({"amount": "12345"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 2**63}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"purpose": "gift"}, "purpose"),
        ({"bill_nos": []}, "an autopay debit must list the bills it pays"),
        ({"bill_nos": "B202610-0001"}, "bill_nos"),
        ({"debit_id": "D 01"}, "debit_id"),
        ({"payer": "x\n"}, "payer"),
        ({"funding_sources": "card-1"}, "funding_sources"),
    ],
)
async def test_a_malformed_debit_is_refused(
    make_sim: Sim, change: dict[str, Any], where: str
) -> None:
    http = make_sim()
    response = await post_debit(http, debit(**change))
    assert response.status_code == 400
    assert problem_code(response) == "MALFORMED_REQUEST"
    assert where in response.json()["detail"]
    assert http.sim.ledger() == ()


async def test_garbage_and_missing_fields_are_refused(make_sim: Sim) -> None:
    http = make_sim()
    missing = debit()
    del missing["funding_source"]
    for body in (missing, [debit()], "D01"):
        assert (await post_debit(http, body)).status_code == 400
    for raw in (b"{not json", b"", '{"amount": 1}'.encode("utf-16")):
        assert (await http.send(signed(http, "POST", "/debits", raw=raw))).status_code == 400
    as_form = signed(http, "POST", "/debits", body=debit())
    as_form.headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert (await http.send(as_form)).status_code == 400
    assert http.sim.ledger() == ()


async def test_a_top_up_needs_no_bills(make_sim: Sim) -> None:
    http = make_sim()
    top_up = debit(purpose="prepaid_topup", bill_nos=[], amount=5000)
    assert (await post_debit(http, top_up)).json()["status"] == "SUCCEEDED"
    assert http.sim.ledger()[0].amount == 5000


async def test_a_body_over_64_kib_is_refused_before_it_is_read(make_sim: Sim) -> None:
    http = make_sim()
    huge = debit(payer="x" * (64 * 1024))
    response = await post_debit(http, huge)
    assert response.status_code == 413
    assert problem_code(response) == "PAYLOAD_TOO_LARGE"

    async def streamed() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b" " * 1024

    no_length = http.build_request("POST", "/debits", content=streamed())
    assert "content-length" not in no_length.headers
    assert (await http.send(no_length)).status_code == 413


async def test_lookups_name_a_debit_and_a_source(make_sim: Sim) -> None:
    http = make_sim()
    unknown = await get_debit(http, "D404")
    assert unknown.status_code == 404
    assert problem_code(unknown) == "NOT_FOUND"
    await post_debit(http, debit())
    assert (await get_debit(http, "D01", "balance")).status_code == 404
    no_source = await http.send(signed(http, "GET", "/debits/D01"))
    assert no_source.status_code == 400
    assert no_source.json()["detail"] == "funding_source is required"
    for params in ({"funding_source": "card-1", "x": "1"}, {"source": "card-1"}):
        response = await http.send(signed(http, "GET", "/debits/D01", params=params))
        assert response.status_code == 400
    twice = await http.send(
        signed(http, "GET", "/debits/D01?funding_source=card-1&funding_source=card-1")
    )
    assert twice.status_code == 400


async def test_routes_live_under_the_base_path(make_sim: Sim) -> None:
    http = make_sim(base="/wallet")
    assert (await http.send(signed(http, "POST", "/wallet/debits", body=debit()))).json()[
        "status"
    ] == "SUCCEEDED"
    assert (await post_debit(http, debit("D02"))).status_code == 404


# ---------------------------------------------------------------- webhooks and notifications


def notification(notification_id: str = "N01", payer: str = PAYER) -> dict[str, Any]:
    return {
        "type": "notification",
        "data": {
            "id": notification_id,
            "payer": payer,
            "template": "autopay.succeeded",
            "params": {"amount": 12345},
            "text": {"zh-CN": "自动缴费成功", "en": "Auto-pay succeeded"},
        },
    }


def payment_webhook(order_id: str = "WX20261122000123") -> dict[str, Any]:
    return {
        "type": "payment.succeeded",
        "data": {"id": "P01", "order_id": order_id, "status": "SUCCEEDED", "amount": 12345},
    }


async def deliver(http: httpx.AsyncClient, body: Any, path: str = "/webhooks") -> httpx.Response:
    return await http.send(signed(http, "POST", path, body=body))


async def test_webhooks_and_notifications_are_kept_per_payer_and_order(make_sim: Sim) -> None:
    http = make_sim()
    assert (await deliver(http, notification("N01"), "/webhooks?v=1")).status_code == 204
    assert (await deliver(http, notification("N02", payer="someone-else"))).status_code == 204
    assert (await deliver(http, payment_webhook())).status_code == 204

    mine = await http.send(signed(http, "GET", "/messages", params={"payer": PAYER}))
    assert mine.json() == {
        "messages": [{**notification("N01"), "received_at": "2026-11-22T15:30:00+08:00"}]
    }
    order = {"order_id": "WX20261122000123"}
    paid = await http.send(signed(http, "GET", "/messages", params=order))
    assert [m["type"] for m in paid.json()["messages"]] == ["payment.succeeded"]
    everything = await http.send(signed(http, "GET", "/messages"))
    assert len(everything.json()["messages"]) == 3
    assert [m.id for m in http.sim.messages(payer="someone-else")] == ["N02"]
    wrong = await http.send(signed(http, "GET", "/messages", params={"user": PAYER}))
    assert wrong.status_code == 400


async def test_a_redelivery_is_acknowledged_and_kept_once(make_sim: Sim) -> None:
    http = make_sim()
    for _ in range(3):
        assert (await deliver(http, notification())).status_code == 204
    assert len(http.sim.messages(payer=PAYER)) == 1
    delivered = http.sim.delivered()
    assert (delivered.accepted, delivered.redelivered, delivered.refused) == (1, 2, 0)


async def test_webhooks_must_be_signed_and_well_formed(make_sim: Sim) -> None:
    http = make_sim()
    unsigned = await http.post("/webhooks", json=notification())
    assert unsigned.status_code == 401
    forged = await http.send(
        signed(http, "POST", "/webhooks", body=notification(), secret="wrong-secret-0123456789")
    )
    assert forged.status_code == 401
    no_payer = notification()
    del no_payer["data"]["payer"]
    response = await deliver(http, no_payer)
    assert response.status_code == 400
    assert response.json()["detail"] == "data.payer is required"
    for body in (
        {"type": "payment.succeeded", "data": {"order_id": "X"}},
        {"type": "payment.succeeded", "data": {"id": 7}},
        {"type": "notification", "data": {"id": "N9", "payer": PAYER}, "extra": 1},
        {"data": {"id": "N9"}},
        [notification()],
    ):
        assert (await deliver(http, body)).status_code == 400
    assert http.sim.messages() == []


async def test_the_first_deliveries_can_be_refused_to_show_retries(make_sim: Sim) -> None:
    http = make_sim(fail_webhooks=2)
    statuses = [(await deliver(http, notification())).status_code for _ in range(3)]
    assert statuses == [503, 503, 204]
    assert len(http.sim.messages(payer=PAYER)) == 1
    http.sim.fail_next_webhooks(1)
    assert (await deliver(http, payment_webhook())).status_code == 503
    assert (await deliver(http, payment_webhook())).status_code == 204
    assert http.sim.delivered().refused == 3
    unsigned = await http.post("/webhooks", json=notification())
    assert unsigned.status_code == 401  # an unsigned request spends none of the failures


# ---------------------------------------------------------------- the app and the command


async def test_create_app_keeps_its_simulator(clock: FrozenClock) -> None:
    app = create_app(ChannelSimConfig(secret=SECRET), clock=clock)
    sim = simulator_of(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://channel.test") as http:
        assert (await post_debit(http, debit())).status_code == 200
    assert [e.debit_id for e in sim.ledger()] == ["D01"]
    with pytest.raises(TypeError, match="not an app made by"):
        simulator_of(Starlette())


def test_the_command_refuses_bad_options_and_serves_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = typer.Typer()
    app.command()(cli.channel_sim)
    served: dict[str, Any] = {}

    def run(asgi: Any, **kwargs: Any) -> None:
        served.update(kwargs, app=asgi)

    monkeypatch.setattr(uvicorn, "run", run)  # the module the command calls

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["--secret", SECRET, *args])
        return result.exit_code, " ".join(result.output.replace("│", " ").split())

    code, output = invoke("--outcomes", "card-1=maybe")
    assert code == 2
    assert "--outcomes: unknown outcome 'maybe' for 'card-1'" in output
    code, output = invoke("--settle-after", "0")
    assert code == 2
    assert "settle_after must be 1 or more" in output
    assert served == {}

    code, output = invoke("--outcomes", "card-1=declined", "--port", "9333", "--base", "/w")
    assert code == 0, output
    assert "http://127.0.0.1:9333/w/debits" in output
    assert (served["host"], served["port"]) == ("127.0.0.1", 9333)
    sim = simulator_of(served["app"])
    assert sim.outcomes == OutcomePlan.parse("card-1=declined")
    assert sim.config.base == "/w"

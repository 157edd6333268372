"""The head-end simulator on a real socket: docs/head-end-protocol.md from the head-end's side.

Requests are signed exactly as the hub signs them; answers are checked with the
hub's own verification (``wire.answer_is_signed``). No database is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from utilipay.channels.auth import NOT_SIGNED
from utilipay.clock import FrozenClock
from utilipay.headend.wire import SIGNATURE_HEADER, answer_is_signed
from utilipay.security.signing import new_nonce, signed_headers
from utilipay.web.server import ServerThread
from utilipay_tools.billersim.app import quiet_dropped_replies
from utilipay_tools.cli import headendsim as cli
from utilipay_tools.headendsim.app import app_for, simulator_of
from utilipay_tools.headendsim.faults import FaultKind, FaultPlan, Faults
from utilipay_tools.headendsim.simulator import HeadEndSim, HeadEndSimConfig

SECRET = "head-end-secret-0123456789"
OLD_SECRET = "head-end-old-secret-0123456789"


class HubSide:
    """Signs requests as the hub does and checks the answers' signatures."""

    def __init__(self, http: httpx.AsyncClient, sim: HeadEndSim, clock: FrozenClock) -> None:
        self.http = http
        self.sim = sim
        self.clock = clock

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        secret: str = SECRET,
        nonce: str | None = None,
        skew: int = 0,
    ) -> httpx.Request:
        content = raw if raw is not None else b"" if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if content else {}
        request = self.http.build_request(method, path, content=content, headers=headers)
        timestamp = int(self.clock.now().timestamp()) + skew
        request.headers.update(
            signed_headers(
                "UTILIPAY", secret, method, request.url.raw_path.decode(), content, timestamp,
                nonce or new_nonce(),
            )
        )  # fmt: skip
        return request

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.send(self.request(method, path, body, **kw))

    async def post(self, body: Any, **kw: Any) -> httpx.Response:
        return await self.call("POST", "/commands", body, **kw)


def signed_by(response: httpx.Response, *secrets: str) -> bool:
    request = response.request
    return answer_is_signed(
        secrets or (SECRET,),
        response.headers.get(SIGNATURE_HEADER, ""),
        request.method,
        request.url.raw_path.decode(),
        request.headers["X-Utilipay-Timestamp"],
        request.headers["X-Utilipay-Nonce"],
        response.content,
    )


def command(
    command_id: str = "C1", action: str = "disconnect", sequence: int = 1, meter: str = "M-1"
) -> dict[str, Any]:
    return {
        "command_id": command_id,
        "meter_id": meter,
        "action": action,
        "sequence": sequence,
        "reason": "PREPAID_CUT",
        "issued_at": "2026-11-22T15:30:00+08:00",
    }


@pytest.fixture
def served(clock: FrozenClock) -> Iterator[tuple[HeadEndSim, str]]:
    config = HeadEndSimConfig(
        secret=SECRET,
        previous_secret=OLD_SECRET,
        timeout_delay=1.0,
        slow_delay=0.05,
        execute_after=30,
        rejected_meters=frozenset({"M-NORELAY"}),
    )
    sim = HeadEndSim(config, clock, Faults(seed=1))
    quiet_dropped_replies()  # the drop_response fault is no error worth a traceback
    with ServerThread(app_for(sim)) as url:
        yield sim, url


@pytest.fixture
async def hub_side(served: tuple[HeadEndSim, str], clock: FrozenClock) -> Any:
    sim, url = served
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        yield HubSide(http, sim, clock)


async def test_a_command_is_executed_once_and_answered_from_the_record(hub_side: HubSide) -> None:
    first = await hub_side.post(command())
    assert first.status_code == 200, first.text
    assert signed_by(first)
    assert first.json() == {
        "command_id": "C1",
        "meter_id": "M-1",
        "sequence": 1,
        "status": "EXECUTED",
        "relay": "disconnected",
        "executed_at": "2026-11-22T15:30:00+08:00",
        "detail": None,
    }
    again = await hub_side.post(command())
    assert (again.status_code, again.content) == (200, first.content)
    assert signed_by(again)  # signed again, for this request's nonce
    assert again.headers[SIGNATURE_HEADER] != first.headers[SIGNATURE_HEADER]
    looked_up = await hub_side.call("GET", "/commands/C1")
    assert (looked_up.status_code, looked_up.content) == (200, first.content)
    assert signed_by(looked_up)
    assert hub_side.sim.book.received("C1") == 2
    meter = (await hub_side.call("GET", "/meters/M-1")).json()
    assert (meter["relay"], meter["last_sequence"], len(meter["history"])) == (
        "disconnected", 1, 1,
    )  # fmt: skip


async def test_one_id_with_other_content_is_refused_and_changes_nothing(
    hub_side: HubSide,
) -> None:
    await hub_side.post(command())
    other = await hub_side.post(command(action="reconnect"))
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert SIGNATURE_HEADER not in other.headers  # refusals are not signed
    assert hub_side.sim.book.meter("M-1").relay == "disconnected"


async def test_an_earlier_command_arriving_late_is_stale(hub_side: HubSide) -> None:
    reconnect = await hub_side.post(command("C2", "reconnect", sequence=2))
    assert reconnect.json()["status"] == "EXECUTED"
    disconnect = await hub_side.post(command("C1", "disconnect", sequence=1))
    answer = disconnect.json()
    assert (answer["status"], answer["relay"]) == ("STALE", "connected")
    assert answer["detail"] == "sequence 1 is not above 2, already taken for the meter"
    assert [e.command_id for e in hub_side.sim.book.meter("M-1").history] == ["C2"]


async def test_an_accepted_command_is_executed_later_under_the_same_rule(
    hub_side: HubSide, clock: FrozenClock
) -> None:
    hub_side.sim.faults.script(FaultKind.ACCEPT_ONLY)
    accepted = (await hub_side.post(command("C1", sequence=1))).json()
    assert (accepted["status"], accepted["relay"], accepted["executed_at"]) == (
        "ACCEPTED", "connected", None,
    )  # fmt: skip
    # a sequence not above an accepted one is stale at once
    lower = (await hub_side.post(command("C0", "reconnect", sequence=1))).json()
    assert lower["status"] == "STALE"
    clock.advance(timedelta(seconds=30))
    done = (await hub_side.call("GET", "/commands/C1")).json()
    assert (done["status"], done["relay"]) == ("EXECUTED", "disconnected")
    assert done["executed_at"] == "2026-11-22T15:30:30+08:00"

    # accepted, then overtaken by a later command before it is due: never executed
    hub_side.sim.faults.script(FaultKind.ACCEPT_ONLY)
    assert (await hub_side.post(command("C3", sequence=3))).json()["status"] == "ACCEPTED"
    now = (await hub_side.post(command("C4", "reconnect", sequence=4))).json()
    assert now["status"] == "EXECUTED"
    clock.advance(timedelta(seconds=30))
    late = (await hub_side.call("GET", "/commands/C3")).json()
    assert (late["status"], late["relay"]) == ("STALE", "connected")
    history = hub_side.sim.book.meter("M-1").history
    assert [e.command_id for e in history] == ["C1", "C4"]


async def test_a_meter_without_a_relay_rejects(hub_side: HubSide) -> None:
    answer = (await hub_side.post(command(meter="M-NORELAY"))).json()
    assert (answer["status"], answer["detail"]) == (
        "REJECTED", "NOT_SWITCHABLE: the meter has no remotely switched relay",
    )  # fmt: skip


async def test_only_fresh_requests_signed_by_the_hub_are_taken(hub_side: HubSide) -> None:
    async def refused(response: httpx.Response) -> str:
        assert response.status_code == 401, response.text
        assert SIGNATURE_HEADER not in response.headers
        detail: str = response.json()["detail"]
        return detail

    refused_secret = await refused(await hub_side.post(command(), secret="not-the-secret-01234"))
    assert refused_secret == NOT_SIGNED
    assert await refused(await hub_side.http.post("/commands", json=command())) == NOT_SIGNED
    assert "timestamp" in await refused(await hub_side.post(command(), skew=-301))
    replayed = hub_side.request("POST", "/commands", command("C9"))
    assert (await hub_side.http.send(replayed)).status_code == 200
    assert await refused(await hub_side.http.send(replayed)) == "nonce already used"
    # a body altered in flight no longer matches its signature
    signed_for = hub_side.request("POST", "/commands", command("C8", sequence=1))
    tampered = hub_side.http.build_request(
        "POST", "/commands", content=orjson.dumps(command("C8", sequence=9)),
        headers=signed_for.headers,
    )  # fmt: skip
    assert await refused(await hub_side.http.send(tampered)) == NOT_SIGNED
    assert hub_side.sim.book.received("C8") == 0

    # during a rotation the previous secret is taken, and the answer is signed with it
    rotated = await hub_side.post(command("C7", sequence=7), secret=OLD_SECRET)
    assert rotated.status_code == 200
    assert signed_by(rotated, OLD_SECRET) and not signed_by(rotated, SECRET)


async def test_malformed_requests_are_refused_before_anything_is_done(
    hub_side: HubSide,
) -> None:
    async def problem(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["detail"]

    status, detail = await problem(await hub_side.post({**command(), "sequence": "1"}))
    assert (status, detail) == (400, "sequence: Input should be a valid integer")
    status, detail = await problem(await hub_side.post({**command(), "priority": 1}))
    assert (status, detail) == (400, "priority: Extra inputs are not permitted")
    status, detail = await problem(await hub_side.post({**command(), "action": "toggle"}))
    assert status == 400 and detail.startswith("action: Input should be 'disconnect'")
    status, detail = await problem(await hub_side.post(command(meter="M 1")))
    assert status == 400 and detail.startswith("meter_id: String should match pattern")
    status, _ = await problem(await hub_side.post(command(sequence=0)))
    assert status == 400
    status, detail = await problem(await hub_side.post(None, raw=b"{not json"))
    assert status == 400
    huge = orjson.dumps({**command(), "reason": "X" * (64 * 1024)})
    status, detail = await problem(await hub_side.post(None, raw=huge))
    assert (status, detail) == (413, "bodies are at most 65536 bytes")
    status, detail = await problem(await hub_side.call("GET", "/commands/C%201"))
    assert (status, detail) == (400, "command_id must match ^[A-Za-z0-9_-]{1,64}$")
    status, detail = await problem(await hub_side.call("GET", "/commands/NEVER"))
    assert (status, detail) == (404, "no command NEVER was received")
    assert hub_side.sim.book.meter("M-1").history == ()


async def test_faults_act_as_in_real_life(hub_side: HubSide) -> None:
    sim = hub_side.sim
    sim.faults.script(FaultKind.ERROR)
    busy = await hub_side.post(command("C1", sequence=1))
    assert (busy.status_code, busy.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert sim.book.received("C1") == 0  # nothing done

    sim.faults.script(FaultKind.DROP_RESPONSE)
    with pytest.raises(httpx.RemoteProtocolError):
        await hub_side.post(command("C1", sequence=1))
    assert sim.book.meter("M-1").relay == "disconnected"  # done, the answer lost

    sim.faults.script(FaultKind.TIMEOUT)
    impatient = hub_side.request("POST", "/commands", command("C2", "reconnect", 2))
    impatient.extensions["timeout"] = httpx.Timeout(0.3).as_dict()
    with pytest.raises(httpx.ReadTimeout):
        await hub_side.http.send(impatient)
    assert sim.book.meter("M-1").relay == "connected"  # done, answered too late

    sim.faults.script(FaultKind.BAD_SIGNATURE)
    forged = await hub_side.post(command("C3", sequence=3))
    assert forged.status_code == 200 and not signed_by(forged, SECRET, OLD_SECRET)
    assert forged.json()["status"] == "EXECUTED"

    sim.faults.script(FaultKind.SLOW)
    slow = await hub_side.call("GET", "/commands/C3")
    assert signed_by(slow) and slow.json()["status"] == "EXECUTED"
    counts = sim.faults.counts()
    assert {k: v for k, v in counts.items() if v} == {
        FaultKind.ERROR: 1, FaultKind.DROP_RESPONSE: 1, FaultKind.TIMEOUT: 1,
        FaultKind.BAD_SIGNATURE: 1, FaultKind.SLOW: 1,
    }  # fmt: skip
    # the meters' route is never faulted
    sim.faults.script(FaultKind.ERROR)
    assert (await hub_side.call("GET", "/meters/M-1")).status_code == 200
    assert sim.faults.draw() is FaultKind.ERROR  # still waiting for a command request


async def test_concurrent_duplicates_over_real_connections_act_once(hub_side: HubSide) -> None:
    requests = [hub_side.request("POST", "/commands", command()) for _ in range(16)]
    answers = await asyncio.gather(*(hub_side.http.send(r) for r in requests))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(hub_side.sim.book.meter("M-1").history) == 1
    assert hub_side.sim.book.received("C1") == 16


def test_fault_plans_are_parsed_strictly() -> None:
    plan = FaultPlan.parse(" timeout=0.1, accept_only = 0.2 ")
    assert plan.spec() == "timeout=0.1,accept_only=0.2"
    for spec, message in [
        ("timeout", "fault 'timeout' must be written kind=probability"),
        ("lost=0.1", "unknown fault 'lost'; known: timeout, drop_response, error, slow"),
        ("error=2", "probability of 'error' must be between 0 and 1, not '2'"),
        ("error=x", "probability of 'error' must be between 0 and 1, not 'x'"),
        ("error=0.1,error=0.2", "fault 'error' is given twice"),
        ("error=0.6,slow=0.5", "fault probabilities add up to 1.1, more than 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            FaultPlan.parse(spec)

    def draws(seed: int) -> list[FaultKind | None]:
        faults = Faults(FaultPlan.parse("error=0.3,accept_only=0.3"), seed=seed)
        return [faults.draw() for _ in range(40)]

    assert draws(3) == draws(3) != draws(4)  # the same seed, the same faults
    assert set(draws(3)) == {None, FaultKind.ERROR, FaultKind.ACCEPT_ONLY}


def test_the_configuration_is_checked() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"secret": ""}, "the secret must not be empty"),
        ({"timeout_delay": -1.0}, "timeout_delay must be 0 or more"),
        ({"base": "headend"}, "base 'headend' must start with '/'"),
    ]
    for wrong, message in cases:
        with pytest.raises(ValueError, match=message):
            HeadEndSimConfig(**{"secret": SECRET, **wrong})
    assert SECRET not in repr(HeadEndSimConfig(secret=SECRET))


def test_the_command_serves_a_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    app.command()(cli.head_end_sim)
    served: dict[str, Any] = {}

    def run(asgi: Any, **kwargs: Any) -> None:
        served.update(kwargs, app=asgi)

    monkeypatch.setattr(uvicorn, "run", run)  # the module the command calls

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["--secret", SECRET, *args])
        return result.exit_code, " ".join(result.output.replace("│", " ").split())

    code, output = invoke("--faults", "lost=1")
    assert code == 2 and "--faults: unknown fault 'lost'" in output
    code, output = invoke("--execute-after", "-1")
    assert code == 2 and "execute_after must be 0 or more" in output
    assert served == {}

    code, output = invoke(
        "--faults", "accept_only=1", "--port", "9333", "--base", "/he",
        "--rejected-meters", "M-A, M-B", "--seed", "5",
    )  # fmt: skip
    assert code == 0, output
    assert "head-end simulator on http://127.0.0.1:9333/he/commands" in output
    assert (served["host"], served["port"]) == ("127.0.0.1", 9333)
    sim = simulator_of(served["app"])
    assert sim.config.base == "/he"
    assert sim.config.rejected_meters == frozenset({"M-A", "M-B"})
    assert sim.faults.plan.spec() == "accept_only=1"

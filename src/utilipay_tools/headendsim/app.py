"""The simulated head-end over HTTP (Starlette), as docs/head-end-protocol.md describes it.

- ``POST <base>/commands``: take a command (the first time) or answer it from the record;
- ``GET <base>/commands/{command_id}``: what became of a command (404: never received);
- ``GET <base>/meters/{meter_id}``: a meter's relay and the commands it executed (for the
  demo and operators; the hub does not need it).

Every route takes only requests the hub signed; a body over 64 KiB is refused
(413) before it is read whole, and the signature is verified before the body is
parsed. Answers (200) are signed with the secret that signed the request;
refusals are problem+json, unsigned. Faults (``faults.py``) are drawn for the
two command routes, once the request is verified and parsed:

- ``timeout``: acted on, answered after ``timeout_delay`` (the caller has given up);
- ``drop_response``: acted on, then the connection closes mid-reply;
- ``error``: 503, nothing done;
- ``slow``: acted on, answered after ``slow_delay``;
- ``accept_only``: a new command is ACCEPTED and executed ``execute_after`` later;
- ``bad_signature``: acted on, answered with a signature that does not verify.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.headend.wire import COMMAND_ID, METER_ID, SIGNATURE_HEADER, CommandRequest
from utilipay.http.body import MAX_BODY, raw_path_with_query, read_limited
from utilipay.http.json import parse_body
from utilipay.http.problems import from_domain
from utilipay_tools.billersim.app import ReplyDropped
from utilipay_tools.headendsim.faults import FaultKind, Faults
from utilipay_tools.headendsim.simulator import HeadEndSim, HeadEndSimConfig

# What a verified request asks for, to be done once its fault is known (True: accept only).
Act = Callable[[bool], dict[str, Any]]
Prepare = Callable[[HeadEndSim, Request, bytes], Act]
Endpoint = Callable[[Request], Awaitable[Response]]
_FORGED = "not-the-head-end-secret"  # the bad_signature fault signs with it


class _DroppedReply(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Once the reply has started a server can only close the connection: the fault.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ReplyDropped("headendsim dropped the reply (drop_response fault)")


def _too_large() -> DomainError:
    return DomainError(ErrorCode.PAYLOAD_TOO_LARGE, f"bodies are at most {MAX_BODY} bytes")


def _signed_answer(
    sim: HeadEndSim, request: Request, secret: str, path_qs: str, content: dict[str, Any]
) -> Response:
    body = orjson.dumps(content)
    signature = sim.answer_signature(secret, request.headers, request.method, path_qs, body)
    return Response(body, media_type="application/json", headers={SIGNATURE_HEADER: signature})


async def _with_fault(sim: HeadEndSim, act: Act) -> tuple[FaultKind | None, dict[str, Any]]:
    """The fault drawn and the answer, delayed as the fault says (``DomainError``: refused)."""
    fault = sim.faults.draw()
    if fault is FaultKind.ERROR:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, "the head-end is busy (a simulated fault)")
    answer = act(fault is FaultKind.ACCEPT_ONLY)
    if fault is FaultKind.TIMEOUT:
        await asyncio.sleep(sim.config.timeout_delay)
    elif fault is FaultKind.SLOW:
        await asyncio.sleep(sim.config.slow_delay)
    return fault, answer


def _route(sim: HeadEndSim, prepare: Prepare, *, faulted: bool) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_limited(request, MAX_BODY, _too_large)
            path_qs = raw_path_with_query(request.scope)
            secret = sim.verify(request.headers, request.method, path_qs, body)
            act = prepare(sim, request, body)
            fault, answer = await _with_fault(sim, act) if faulted else (None, act(False))
        except DomainError as refused:
            return from_domain(refused)
        except ClientDisconnect:  # the caller gave up before sending it all: nothing read
            return Response(status_code=400)
        if fault is FaultKind.DROP_RESPONSE:
            return _DroppedReply()
        signer = _FORGED if fault is FaultKind.BAD_SIGNATURE else secret
        return _signed_answer(sim, request, signer, path_qs, answer)

    return endpoint


def _post_command(sim: HeadEndSim, request: Request, body: bytes) -> Act:
    command = parse_body(CommandRequest, body, request.headers.get("content-type"))
    return lambda accept_only: sim.book.submit(command, accept_only=accept_only).model_dump(
        mode="json"
    )


def _path_param(request: Request, name: str, pattern: str) -> str:
    value: str = request.path_params[name]
    if not re.fullmatch(pattern, value):
        raise DomainError(ErrorCode.MALFORMED_REQUEST, f"{name} must match {pattern}")
    return value


def _get_command(sim: HeadEndSim, request: Request, body: bytes) -> Act:
    command_id = _path_param(request, "command_id", COMMAND_ID)

    def act(accept_only: bool) -> dict[str, Any]:
        answer = sim.book.look_up(command_id)
        if answer is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"no command {command_id} was received")
        return answer.model_dump(mode="json")

    return act


def _get_meter(sim: HeadEndSim, request: Request, body: bytes) -> Act:
    meter_id = _path_param(request, "meter_id", METER_ID)
    return lambda accept_only: sim.book.meter(meter_id).to_json()


def app_for(sim: HeadEndSim) -> Starlette:
    """The ASGI app serving ``sim`` (kept at ``app.state.headendsim``)."""
    base = sim.config.base
    routes = [
        Route(f"{base}/commands", _route(sim, _post_command, faulted=True), methods=["POST"]),
        Route(
            f"{base}/commands/{{command_id}}",
            _route(sim, _get_command, faulted=True),
            methods=["GET"],
        ),
        Route(
            f"{base}/meters/{{meter_id}}", _route(sim, _get_meter, faulted=False), methods=["GET"]
        ),
    ]
    app = Starlette(routes=routes)
    app.state.headendsim = sim
    return app


def create_app(
    config: HeadEndSimConfig, *, clock: Clock | None = None, faults: Faults | None = None
) -> Starlette:
    """A new simulated head-end's app; ``simulator_of(app)`` is its state."""
    return app_for(HeadEndSim(config, clock, faults))


def simulator_of(app: Starlette) -> HeadEndSim:
    sim = getattr(app.state, "headendsim", None)
    if not isinstance(sim, HeadEndSim):
        raise TypeError("not an app made by utilipay_tools.headendsim.app")
    return sim

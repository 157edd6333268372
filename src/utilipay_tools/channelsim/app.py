"""The simulated channel over HTTP (Starlette). Every route takes only requests the hub signed
(§3, as ``UTILIPAY`` with the channel's secret); refusals are problem+json as in §2.

- ``POST <base>/debits``, ``GET <base>/debits/{debit_id}?funding_source=…``: §9;
- ``POST <base>/webhooks``: the hub's webhooks and notifications (§7, §10);
- ``GET <base>/messages[?payer=…|order_id=…]``: what the hub told the channel;
- ``GET <base>/ledger``: the money the channel took;
- ``GET|PUT <base>/outcomes`` (``{"outcomes": "card-1=declined,*=success"}``):
  the outcome plan, switched at run time;
- ``<base>/cashier`` and ``<base>/open``: pages a payer's browser opens (``cashier.py``),
  the only routes not signed by the hub.

A body over 64 KiB is refused (413) before it is read whole, and before it is
parsed the signature is verified over its bytes. A query string on a POST is
signed like the rest and otherwise ignored (a channel's URLs may carry one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from pydantic import BaseModel, ConfigDict, StrictStr
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from utilipay.clock import Clock
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.body import MAX_BODY, raw_path_with_query, read_limited
from utilipay.http.json import json_response, parse_body
from utilipay.http.problems import from_domain, problem
from utilipay_tools.channelsim import cashier
from utilipay_tools.channelsim.debits import DebitRequest
from utilipay_tools.channelsim.inbox import Envelope
from utilipay_tools.channelsim.outcomes import OutcomePlan
from utilipay_tools.channelsim.simulator import ChannelSim, ChannelSimConfig

Handler = Callable[[ChannelSim, Request, bytes], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class _OutcomesBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    outcomes: StrictStr


def _too_large() -> DomainError:
    return DomainError(ErrorCode.PAYLOAD_TOO_LARGE, f"bodies are at most {MAX_BODY} bytes")


def _query(request: Request, allowed: Collection[str]) -> dict[str, str]:
    """The query parameters, each at most once and none but ``allowed`` (400 otherwise)."""
    items = request.query_params.multi_items()
    names = [name for name, _ in items]
    for name in names:
        if name not in allowed or names.count(name) > 1:
            raise DomainError(
                ErrorCode.MALFORMED_REQUEST,
                f"query parameter {name!r} is unknown or repeated; allowed once each: "
                f"{', '.join(sorted(allowed)) or 'none'}",
            )
    return dict(items)


def _signed(sim: ChannelSim, handler: Handler) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_limited(request, MAX_BODY, _too_large)
            path_qs = raw_path_with_query(request.scope)
            sim.verifier.verify(request.headers, request.method, path_qs, body)
            return await handler(sim, request, body)
        except DomainError as refused:
            return from_domain(refused)
        except ClientDisconnect:  # the caller gave up before sending it all: nothing read
            return Response(status_code=400)

    return endpoint


async def _post_debit(sim: ChannelSim, request: Request, body: bytes) -> Response:
    debit = parse_body(DebitRequest, body, request.headers.get("content-type"))
    answer = await sim.debit(debit)
    return json_response(answer.to_json())


async def _get_debit(sim: ChannelSim, request: Request, body: bytes) -> Response:
    funding_source = _query(request, ("funding_source",)).get("funding_source")
    if not funding_source:
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "funding_source is required")
    answer = sim.look_up(request.path_params["debit_id"], funding_source)
    return json_response(answer.to_json())


async def _post_webhook(sim: ChannelSim, request: Request, body: bytes) -> Response:
    if sim.inbox.refuse_this_one():
        return problem(ErrorCode.SERVICE_UNAVAILABLE, "the channel is down (a simulated failure)")
    envelope = parse_body(Envelope, body, request.headers.get("content-type"))
    sim.inbox.keep(envelope)
    return Response(status_code=204)


async def _get_messages(sim: ChannelSim, request: Request, body: bytes) -> Response:
    query = _query(request, ("payer", "order_id"))
    found = sim.messages(payer=query.get("payer"), order_id=query.get("order_id"))
    return json_response({"messages": [m.to_json() for m in found]})


async def _get_ledger(sim: ChannelSim, request: Request, body: bytes) -> Response:
    entries = sim.ledger()
    return json_response(
        {"entries": [e.to_json() for e in entries], "total": sum(e.amount for e in entries)}
    )


async def _outcomes(sim: ChannelSim, request: Request, body: bytes) -> Response:
    if request.method == "PUT":
        wanted = parse_body(_OutcomesBody, body, request.headers.get("content-type"))
        try:
            sim.outcomes = OutcomePlan.parse(wanted.outcomes)
        except ValueError as exc:
            raise DomainError(ErrorCode.MALFORMED_REQUEST, str(exc)) from None
    return json_response({"outcomes": sim.outcomes.spec()})


def app_for(sim: ChannelSim) -> Starlette:
    """The ASGI app serving ``sim`` (kept at ``app.state.channelsim``)."""
    base = sim.config.base
    routes = [
        Route(f"{base}/debits", _signed(sim, _post_debit), methods=["POST"]),
        Route(f"{base}/debits/{{debit_id}}", _signed(sim, _get_debit), methods=["GET"]),
        Route(f"{base}/webhooks", _signed(sim, _post_webhook), methods=["POST"]),
        Route(f"{base}/messages", _signed(sim, _get_messages), methods=["GET"]),
        Route(f"{base}/ledger", _signed(sim, _get_ledger), methods=["GET"]),
        Route(f"{base}/outcomes", _signed(sim, _outcomes), methods=["GET", "PUT"]),
        *cashier.routes(base),
    ]
    app = Starlette(routes=routes)
    app.state.channelsim = sim
    return app


def create_app(config: ChannelSimConfig, *, clock: Clock | None = None) -> Starlette:
    """A new simulated channel's app; ``simulator_of(app)`` is its state."""
    return app_for(ChannelSim(config, clock))


def simulator_of(app: Starlette) -> ChannelSim:
    sim = getattr(app.state, "channelsim", None)
    if not isinstance(sim, ChannelSim):
        raise TypeError("not an app made by utilipay_tools.channelsim.app")
    return sim

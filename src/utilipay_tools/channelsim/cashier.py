"""The simulated channel's pages a payer's browser opens (not signed requests):

- ``GET <base>/cashier?order_id&amount&…&sig``: the cashier (收银台) the hub's payer pages
  send a payer to (docs/h5.md); the hub's signature is checked, the amount shown;
- ``POST <base>/cashier``: "pay": the channel takes the money (here: it says so) and calls
  the hub's ``POST /v1/payments`` signed as the channel, with the order's id as
  ``order_id``, then sends the payer back to ``return_url`` whatever the outcome;
- the same two for ``purpose=signup`` links: the sign-up's terms, the funding sources and
  the payment password, then ``POST /v1/mandates`` or ``POST /v1/prepaid/enrolments``
  (``signup.py``);
- ``GET <base>/open?payer=…&lang=…``: "open in app": a fresh launch link of the payer pages,
  signed now, so a person can open them while the demo runs (a link lives 60 s).
"""

from __future__ import annotations

from html import escape

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from utilipay.console.i18n import Locale
from utilipay.h5 import launch
from utilipay.h5.cashier import SIGNUP, signed_by_hub
from utilipay.money import format_yuan
from utilipay_tools.channelsim import signup
from utilipay_tools.channelsim.simulator import ChannelSim
from utilipay_tools.client import ChannelClient

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>收银台</title></head>
<body><main><h1>收银台 (simulated {channel})</h1>{body}</main></body></html>"""


def _page(sim: ChannelSim, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(channel=escape(sim.config.channel_code), body=body), status)


def _secrets(sim: ChannelSim) -> tuple[str, ...]:
    previous = sim.config.previous_secret
    return (sim.config.secret, previous) if previous else (sim.config.secret,)


def _refused(sim: ChannelSim) -> HTMLResponse:
    return _page(sim, "<p role='alert'>This order was not made by the hub.</p>", 403)


async def cashier_page(request: Request) -> Response:
    sim: ChannelSim = request.app.state.channelsim
    fields = dict(request.query_params)
    if not signed_by_hub(_secrets(sim), fields):
        return _refused(sim)
    if fields.get("purpose") == SIGNUP:
        return _page(sim, signup.form(fields))
    hidden = signup.hidden_fields(fields)
    body = (
        f"<p>订单 {escape(fields['order_id'])}</p>"
        f"<p>金额 <strong>¥{format_yuan(int(fields['amount']))}</strong></p>"
        f'<form method="post">{hidden}<button type="submit">确认支付</button></form>'
        f'<p><a href="{escape(fields["return_url"])}">取消</a></p>'
    )
    return _page(sim, body)


async def cashier_pay(request: Request) -> Response:
    sim: ChannelSim = request.app.state.channelsim
    fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    hub_url = sim.config.hub_url
    if hub_url is None or not signed_by_hub(_secrets(sim), fields):
        return _refused(sim)
    if fields.get("purpose") == SIGNUP:
        refused = await signup.authorise(sim, hub_url, fields)
        if refused is not None:
            return _page(sim, signup.form(fields, refused), 400)
        return RedirectResponse(fields["return_url"], status_code=303)
    order = {
        "order_id": fields["order_id"], "biller": fields["biller"],
        "account": fields["account"], "amount": int(fields["amount"]),
        "bill_nos": fields["bill_nos"].split(","), "payer": fields["payer"],
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=hub_url, timeout=30.0) as http:
        client = ChannelClient(http, sim.config.channel_code, sim.config.secret, sim.clock)
        await client.call("POST", "/v1/payments", json=order)
    return RedirectResponse(fields["return_url"], status_code=303)


async def open_in_app(request: Request) -> Response:
    sim: ChannelSim = request.app.state.channelsim
    payer = request.query_params.get("payer", "")
    lang = request.query_params.get("lang", Locale.ZH_CN)
    if sim.config.hub_url is None or not payer or lang not in set(Locale):
        return _page(sim, "<p role='alert'>give ?payer=… (and lang=zh-CN or en)</p>", 400)
    now = int(sim.clock.now().timestamp())
    target = launch.link(
        sim.config.hub_url, sim.config.channel_code, sim.config.secret, payer, Locale(lang), now
    )
    return RedirectResponse(target, status_code=303)


def routes(base: str) -> list[Route]:
    return [
        Route(f"{base}/cashier", cashier_page, methods=["GET"]),
        Route(f"{base}/cashier", cashier_pay, methods=["POST"]),
        Route(f"{base}/open", open_in_app, methods=["GET"]),
    ]

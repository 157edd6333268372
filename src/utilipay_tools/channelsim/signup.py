"""The simulated channel's side of a sign-up the hub's payer pages send a payer to
(``purpose=signup`` links, docs/h5.md): the channel, not the hub, shows the payer's funding
sources in its priority order and asks the payment password; once it holds, it signs the
mandate (``POST /v1/mandates``) or the smart-payment enrolment with its automatic top-up
(``POST /v1/prepaid/enrolments``) with the hub's ``signup_id``, signed as the channel,
and sends the payer back to ``return_url``. A refusal of the hub is shown here, with the
way back."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import httpx

from utilipay.h5.cashier import fields_signed
from utilipay.money import format_yuan
from utilipay_tools.channelsim.simulator import ChannelSim
from utilipay_tools.client import ChannelClient

DEMO_PASSWORD = "123456"  # noqa: S105 (a demo wallet's payment password, 支付密码)
# the payer's funding sources at the channel, in the channel's priority order
SOURCES = ({"id": "card-1", "label": "储蓄卡(1234)"}, {"id": "balance", "label": "余额"})


def _yuan(fen: str) -> str:
    return f"¥{format_yuan(int(fen))}"


def _terms(fields: Mapping[str, str]) -> str:
    if fields["kind"] == "autopay":
        return f"<p>自动缴费 {escape(fields['account'])}，每期上限 {_yuan(fields['cap'])}</p>"
    return (
        f"<p>智能交费 {escape(fields['account'])}：余额低于 {_yuan(fields['reminder'])} 时"
        f"自动充值 {_yuan(fields['topup_amount'])}</p>"
    )


def hidden_fields(fields: Mapping[str, str]) -> str:
    """A hub link's signed fields and signature, carried by the cashier's form to its POST
    (a pay link's or a sign-up's, by its purpose)."""
    return "".join(
        f'<input type="hidden" name="{name}" value="{escape(fields.get(name, ""))}">'
        for name in (*fields_signed(fields), "sig")
    )


def form(fields: Mapping[str, str], error: str = "") -> str:
    """The page's body: what is signed, the sources in order, the password."""
    hidden = hidden_fields(fields)
    sources = "".join(f"<li>{escape(s['label'])}</li>" for s in SOURCES)
    alert = f"<p role='alert'>{escape(error)}</p>" if error else ""
    return (
        f"{_terms(fields)}<h2>扣款顺序</h2><ol>{sources}</ol>{alert}"
        f'<form method="post">{hidden}<label for="password">支付密码</label>'
        '<input id="password" name="password" type="password" inputmode="numeric" '
        'autocomplete="off"><button type="submit">确认签约</button></form>'
        f'<p><a href="{escape(fields["return_url"])}">取消</a></p>'
    )


def _request(fields: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "payer": fields["payer"], "biller": fields["biller"], "account": fields["account"],
        "funding_sources": list(SOURCES), "signup_id": fields["signup_id"],
    }  # fmt: skip
    if fields["kind"] == "autopay":
        return "/v1/mandates", {**body, "cap": int(fields["cap"])}
    more = {"reminder": int(fields["reminder"]), "topup_amount": int(fields["topup_amount"])}
    return "/v1/prepaid/enrolments", {**body, **more}


async def authorise(sim: ChannelSim, hub_url: str, fields: Mapping[str, str]) -> str | None:
    """Sign at the hub once the password holds: None, or why it was not signed."""
    if fields.get("password") != DEMO_PASSWORD:
        return "支付密码错误"
    path, body = _request(fields)
    async with httpx.AsyncClient(base_url=hub_url, timeout=30.0) as http:
        client = ChannelClient(http, sim.config.channel_code, sim.config.secret, sim.clock)
        answer = await client.call("POST", path, json=body)
    if answer.status_code in {200, 201}:
        return None
    problem = answer.json()
    return f"{problem.get('code', answer.status_code)}: {problem.get('detail', '')}"

"""Prepaid smart payment's messages (智能交费): the fee warning, the outage warning and the
outage notice once per episode, the reconnection, the pre-store reward, a top-up's receipt
with the balance it left, and automatic top-ups told by their balance, not by bills."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tests.conftest import WATER_RULE
from tests.helpers import ACCOUNT, install_meter, payment_body
from tests.notify.test_notify_support import NOWHERE, dispatch, point_at, queued, undispatch
from tests.receivers import receiver
from utilipay.billers import service as billers_service
from utilipay.billers.schemas import Category, IntegrationMode
from utilipay.clock import SHANGHAI, FrozenClock
from utilipay.common import outgoing
from utilipay.notify.delivery import deliver_due_notifications
from utilipay.notify.params import earliest_cut
from utilipay.notify.providers import build_providers
from utilipay.notify.schemas import Notification
from utilipay.notify.settings import NotifySettings
from utilipay.notify.templates import LANGUAGES, render
from utilipay.outbox.service import Event, emit
from utilipay.prepaid import service as prepaid
from utilipay.prepaid.accrual import accrue_day
from utilipay.prepaid.cuts import cut_due
from utilipay.tariffs import service as tariffs
from utilipay_tools.client import ChannelClient

PAYER = "wx-openid-abc"  # bound to the account
MUM = "wx-openid-mum"  # pays for it now and then, not bound
PHONE = "+8613800138000"
EMAIL = "zhangsan@example.com"
NOV_21 = date(2026, 11, 21)


def shanghai(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


# ------------------------------------------------------------ the episode, by the real producers


async def power_account(engine: AsyncEngine, clock: FrozenClock, hub: Any) -> None:
    """A prepaid electricity account on the Beijing tariff (0.4883 yuan/kWh up to 240 kWh),
    reminder 20 yuan, grace 24 h, 10 points for a top-up of 50 yuan; the holder reads
    English by SMS and e-mail."""
    async with engine.begin() as conn:
        await billers_service.add_biller(
            conn, clock, code="BJPOWER", name="国网北京电力", category=Category.ELECTRICITY,
            mode=IntegrationMode.HOSTED, account_rule=WATER_RULE, region="110101", actor="test",
        )  # fmt: skip
        await conn.execute(text("UPDATE billers SET prepaid_reward_points = 10"))
        await tariffs.load_tariffs(conn, clock, None, "test")
        await tariffs.assign_tariff(
            conn, clock, biller="BJPOWER", customer_class="residential",
            tariff_code="BJ_ELEC_RES", effective_from=date(2026, 1, 1), actor="test",
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO customer_accounts (biller_id, account_no, holder_name, address,"
                " created_at, language, phone, email)"
                " SELECT id, :a, '王五', '', now(), 'en', :phone, :email FROM billers"
                " WHERE code = 'BJPOWER'"
            ),
            {"a": ACCOUNT, "phone": PHONE, "email": EMAIL},
        )
        await install_meter(conn, "BJPOWER", ACCOUNT, service="electricity")
        await prepaid.enroll(conn, clock, "BJPOWER", ACCOUNT, accrue_from=NOV_21, actor="test")
    await hub.directory.reload()


async def bind(wechat: ChannelClient) -> None:
    body = {"payer": PAYER, "biller": "BJPOWER", "account": ACCOUNT}
    assert (await wechat.call("POST", "/v1/bindings", json=body)).status_code == 201


async def top_up(wechat: ChannelClient, order_id: str, amount: int, payer: str = PAYER) -> Any:
    body = payment_body(
        order_id, amount=amount, bill_nos=..., biller="BJPOWER", account=ACCOUNT, payer=payer
    )
    r = await wechat.call("POST", "/v1/payments", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def use(engine: AsyncEngine, clock: FrozenClock, day: date, kwh: str) -> None:
    """The day's usage, settled by the daily accrual as of the clock."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO daily_usage (biller_id, account_no, day, register, quantity,"
                " estimated) SELECT id, :a, :d, 'total', :q, false FROM billers"
                " WHERE code = 'BJPOWER'"
            ),
            {"a": ACCOUNT, "d": day, "q": Decimal(kwh)},
        )
        assert (await accrue_day(conn, day, clock.now())).accounts == 1


async def cut(engine: AsyncEngine, clock: FrozenClock) -> int:
    async with engine.begin() as conn:
        return await cut_due(conn, clock.now())


async def to_the_cut(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> Any:
    """A 30-yuan top-up (returned), then LOW (17.79), ARREARS (-1.74) and the cut."""
    await power_account(engine, clock, hub)
    await bind(wechat)
    paid = await top_up(wechat, "TOPUP-1", 3000)
    clock.set(shanghai(22, 1))
    await use(engine, clock, NOV_21, "25")  # 12.2075 yuan: 12.21
    clock.set(shanghai(23, 1))
    await use(engine, clock, date(2026, 11, 22), "40")  # 65 kWh in the month: 31.74 in all
    clock.set(shanghai(23, 16))
    assert await cut(engine, clock) == 0  # the grace runs to Tuesday 01:00
    clock.set(shanghai(24, 10))
    assert await cut(engine, clock) == 1
    return paid


def mine(told: list[Notification], kind: str, address: str) -> list[Notification]:
    return [n for n in told if (n.recipient_kind, n.address) == (kind, address)]


def by_template(told: list[Notification]) -> dict[str, Notification]:
    found = {n.template: n for n in told}
    assert len(found) == len(told)  # one message per event
    return found


async def in_order(engine: AsyncEngine) -> list[Notification]:
    async with engine.connect() as conn:
        query = text("SELECT * FROM notifications ORDER BY event_id, recipient_kind, address")
        ids = [r.id for r in await conn.execute(query)]
    every = {n.id: n for n in await queued(engine)}
    return [every[i] for i in ids]


async def test_an_episode_is_told_once_each_in_both_languages_in_yuan(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    first = await to_the_cut(engine, clock, hub, wechat)
    second = await top_up(wechat, "TOPUP-2", 5000, payer=MUM)  # ends the cut, earns the reward
    await dispatch(engine, clock, hub)
    told = await in_order(engine)

    bound = mine(told, "channel", PAYER)
    assert [n.template for n in bound] == [
        "prepaid.topup",
        "prepaid.low",
        "prepaid.arrears",
        "prepaid.cut",
        "prepaid.restored",
        "prepaid.rewarded",
    ]
    # who paid to end the cut hears of the reconnection and the reward too, bound or not
    assert [n.template for n in mine(told, "channel", MUM)] == [
        "prepaid.topup",
        "prepaid.restored",
        "prepaid.rewarded",
    ]
    for kind, address in (("sms", PHONE), ("email", EMAIL)):  # the holder: everything, in English
        theirs = mine(told, kind, address)
        assert [n.template for n in theirs] == [
            "prepaid.topup",
            "prepaid.low",
            "prepaid.arrears",
            "prepaid.cut",
            "prepaid.topup",  # the receipt of the top-up that ended the cut
            "prepaid.restored",
            "prepaid.rewarded",
        ]
        assert {(n.language, *n.text) for n in theirs} == {("en", "en")}

    msg = by_template(bound)
    assert msg["prepaid.low"].params == {
        "biller": "BJPOWER",
        "biller_name": "国网北京电力",
        "category": "electricity",
        "account_no": ACCOUNT,
        "balance": 1779,
        "day": "2026-11-21",
        "reminder": 2000,
    }
    for n in bound:
        assert set(n.text) == set(n.subject) == {"zh-CN", "en"}
    zh = {t: n.text["zh-CN"] for t, n in msg.items()}
    en = {t: n.text["en"] for t, n in msg.items()}

    receipt = msg["prepaid.topup"]
    assert receipt.params["balance"] == 3000 and receipt.params["receipt_no"] == first["receipt_no"]
    assert "金额：30.00元\n充值后余额：30.00元" in zh["prepaid.topup"]
    assert "账单" not in zh["prepaid.topup"] and "Bills:" not in en["prepaid.topup"]
    assert "Balance after top-up: 30.00 yuan" in en["prepaid.topup"]
    assert receipt.subject["zh-CN"] == "充值成功：国网北京电力 30.00元"

    assert "截至2026年11月21日24时余额为17.79元，已低于提醒金额20.00元" in zh["prepaid.low"]
    assert "was 17.79 yuan, below your reminder amount of 20.00 yuan" in en["prepaid.low"]

    arrears = msg["prepaid.arrears"]
    assert arrears.params["cut_from"] == "2026-11-24T09:00:00+08:00"  # Tue 01:00, when cuts begin
    assert arrears.subject["zh-CN"] == f"停电预警：国网北京电力户号{ACCOUNT}已欠费"
    assert "余额为-1.74元，已欠费1.74元" in zh["prepaid.arrears"]
    assert "最早可能于2026年11月24日 09:00起停止供电" in zh["prepaid.arrears"]
    assert "-1.74 yuan, 1.74 yuan in arrears" in en["prepaid.arrears"]
    assert "cut from 24 Nov 2026, 09:00 (Beijing time)" in en["prepaid.arrears"]

    assert msg["prepaid.cut"].subject["zh-CN"] == f"停电通知：国网北京电力户号{ACCOUNT}"
    assert "已于2026年11月24日 10:00停止供电" in zh["prepaid.cut"]
    assert "需交费超过1.74元" in zh["prepaid.cut"]
    assert "was cut on 24 Nov 2026, 10:00 (Beijing time)" in en["prepaid.cut"]
    assert "more than 1.74 yuan" in en["prepaid.cut"]

    assert msg["prepaid.restored"].params["payment_id"] == second["id"]
    assert "当前余额48.26元，正在自动恢复供电。" in zh["prepaid.restored"]
    assert "still below" not in en["prepaid.restored"]  # 48.26 is above the reminder
    assert "获得2026年11月预存奖励10积分" in zh["prepaid.rewarded"]
    assert (
        "10 reward points" in en["prepaid.rewarded"] and "November 2026" in en["prepaid.rewarded"]
    )

    (mums_receipt,) = [n for n in mine(told, "channel", MUM) if n.template == "prepaid.topup"]
    assert "充值后余额：48.26元" in mums_receipt.text["zh-CN"]


async def test_a_later_cut_in_the_same_episode_is_not_told_again(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await to_the_cut(engine, clock, hub, wechat)
    await top_up(wechat, "TOPUP-SMALL", 200)  # 0.26 yuan: reconnected, still LOW
    clock.set(shanghai(25, 1))
    await use(engine, clock, date(2026, 11, 23), "5")  # back in arrears: -2.18
    clock.set(shanghai(26, 10))
    assert await cut(engine, clock) == 1
    async with engine.connect() as conn:
        query = text(
            "SELECT payload FROM outbox_events WHERE event_type = 'prepaid.cut' ORDER BY id"
        )
        cuts = [r.payload for r in await conn.execute(query)]
    assert [(c["notify"], c["cuts"], c["balance"]) for c in cuts] == [
        (True, 1, -174),
        (False, 2, -218),
    ]
    await dispatch(engine, clock, hub)
    bound = mine(await in_order(engine), "channel", PAYER)
    assert [n.template for n in bound] == [
        "prepaid.topup",
        "prepaid.low",
        "prepaid.arrears",
        "prepaid.cut",
        "prepaid.topup",
        "prepaid.restored",
    ]
    restored = bound[-1]
    assert "余额仍低于提醒金额" in restored.text["zh-CN"]
    assert "still below your reminder amount" in restored.text["en"]


async def test_the_messages_are_delivered_once_to_the_channel_and_the_log_file(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient, tmp_path: Path
) -> None:
    path = tmp_path / "notifications.log"
    settings = NotifySettings(notify_log=path, smtp_host=None, sms_url=None)
    async with outgoing.http_client(10.0, 3.0) as outbound:
        providers = build_providers(settings, outbound, hub.directory.channel_by_id)
        with receiver() as hooks:
            await point_at(engine, clock, hub, "WECHAT", hooks.url)
            await to_the_cut(engine, clock, hub, wechat)
            await dispatch(engine, clock, hub)
            await undispatch(engine)  # a worker that crashed after dispatching
            await dispatch(engine, clock, hub)
            done = await deliver_due_notifications(engine, clock, providers)
            assert done.results == {"sent": 12}  # 4 events, to the payer, the phone, the e-mail
            assert (await deliver_due_notifications(engine, clock, providers)).attempted == 0
    told = await queued(engine)
    assert {n.status for n in told} == {"SENT"}
    posted = [json.loads(r.body)["data"] for r in hooks.received]
    assert sorted(p["template"] for p in posted) == [
        "prepaid.arrears",
        "prepaid.cut",
        "prepaid.low",
        "prepaid.topup",
    ]
    low = next(p for p in posted if p["template"] == "prepaid.low")
    assert low["payer"] == PAYER and low["params"]["balance"] == 1779
    assert "余额为17.79元" in low["text"]["zh-CN"] and "17.79 yuan" in low["text"]["en"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((line["kind"], line["template"]) for line in lines) == sorted(
        (kind, template)
        for kind in ("email", "sms")
        for template in ("prepaid.topup", "prepaid.low", "prepaid.arrears", "prepaid.cut")
    )
    cut_sms = next(x for x in lines if (x["kind"], x["template"]) == ("sms", "prepaid.cut"))
    assert (cut_sms["to"], cut_sms["language"]) == (PHONE, "en")
    assert cut_sms["subject"] == f"Power supply cut: 国网北京电力 account {ACCOUNT}"
    assert "was cut on 24 Nov 2026, 10:00 (Beijing time)" in cut_sms["text"]


# ------------------------------------------------------------ automatic top-ups


async def _topup_debit(engine: AsyncEngine, debit_id: str, episode: int, at: datetime) -> None:
    """A mandate that tops the balance up by 50 yuan, and its debit for an episode."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO mandates (biller_id, id, channel_id, payer, account_no, cap,"
                " topup_amount, funding_sources, status, signed_at, updated_at)"
                " SELECT b.id, 'M01', c.id, :payer, :a, 100000, 5000, CAST(:sources AS jsonb),"
                " 'ACTIVE', now(), now() FROM billers b, channels c"
                " WHERE b.code = 'BJPOWER' AND c.code = 'WECHAT' ON CONFLICT DO NOTHING"
            ),
            {
                "payer": PAYER,
                "a": ACCOUNT,
                "sources": '[{"id": "card-1", "label": "储蓄卡(1234)"}]',
            },
        )
        await conn.execute(
            text(
                "INSERT INTO debits (biller_id, id, mandate_id, channel_id, payer, account_no,"
                " purpose, bill_nos, amount, status, issued_at, planned_at, deadline,"
                " next_attempt_at, source_index, rounds, episode, created_at)"
                " SELECT m.biller_id, :d, m.id, m.channel_id, m.payer, m.account_no,"
                " 'prepaid_topup', '{}', m.topup_amount, 'SCHEDULED', :at, :at, :at, :at, 0, 0,"
                " :episode, :at FROM mandates m"
            ),
            {"d": debit_id, "at": at, "episode": episode},
        )


async def _announce(
    engine: AsyncEngine, debit_id: str, event_type: str, at: datetime, **extra: Any
) -> None:
    """The debit's news, as the auto-pay engine writes it (``debit_event``)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox_events (biller_id, event_type, aggregate_id, payload,"
                " occurred_at) SELECT biller_id, :t, id, debit_event(d) || CAST(:extra AS jsonb),"
                " :at FROM debits d WHERE id = :d"
            ),
            {"t": event_type, "d": debit_id, "extra": json.dumps(extra), "at": at},
        )


async def test_an_automatic_top_up_is_told_by_its_balance_not_by_bills(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await power_account(engine, clock, hub)
    await top_up(wechat, "TOPUP-1", 3000)
    clock.set(shanghai(23, 1))
    await use(engine, clock, NOV_21, "25")  # LOW: 17.79
    await _topup_debit(engine, "D000000000001", 1, clock.now())
    await _announce(engine, "D000000000001", "debit.scheduled", clock.now())
    clock.set(shanghai(23, 7))
    paid = await top_up(wechat, "D000000000001", 5000)  # the debit's write-off: 67.79
    await _announce(
        engine, "D000000000001", "debit.succeeded", clock.now(),
        payment_id=paid["id"], receipt_no=paid["receipt_no"], funding_source="card-1",
    )  # fmt: skip
    # another episode's top-up, refused before that one landed, told only now
    await _topup_debit(engine, "D000000000002", 2, shanghai(23, 1))
    await _announce(engine, "D000000000002", "debit.failed", shanghai(23, 2), reason="OVER_CAP")
    await dispatch(engine, clock, hub)

    told = mine(await in_order(engine), "channel", PAYER)
    # the debit's payment is told once, as the top-up's outcome, not also as a receipt
    assert [n.template for n in told] == [
        "prepaid.topup",
        "debit.scheduled",
        "prepaid.rewarded",  # 50 yuan earns the month's points, automatic or not
        "autopay.succeeded",
        "autopay.failed",
    ]
    _, scheduled, _, succeeded, failed = told
    # each with the balance when its news happened, not when it was queued (67.79)
    assert (scheduled.params["purpose"], scheduled.params["balance"]) == ("prepaid_topup", 1779)
    assert scheduled.params["bill_nos"] == []
    assert scheduled.subject["zh-CN"] == "自动充值预告：国网北京电力 50.00元"
    assert (
        "余额17.79元，已低于提醒金额，将于2026年11月23日 01:00起自动充值50.00元"
        in (scheduled.text["zh-CN"])
    )
    assert "is 17.79 yuan, below your reminder amount: 50.00 yuan" in scheduled.text["en"]

    assert succeeded.params["balance"] == 6779
    assert "已自动充值50.00元，扣款方式：储蓄卡(1234)，充值后余额67.79元" in succeeded.text["zh-CN"]
    assert paid["receipt_no"] in succeeded.text["zh-CN"]
    assert "Balance now: 67.79 yuan" in succeeded.text["en"]

    assert failed.params["balance"] == 1779
    assert "自动充值50.00元未成功，当前余额17.79元" in failed.text["zh-CN"]
    assert "充值金额超过了您设置的单笔扣款上限（1,000.00元）" in failed.text["zh-CN"]
    assert "top up by hand" in failed.text["en"]
    for n in (scheduled, succeeded, failed):
        assert "账单" not in n.text["zh-CN"] and "bill" not in n.text["en"].lower()


async def test_a_top_up_debit_for_an_account_that_is_not_prepaid_is_logged_and_skipped(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await power_account(engine, clock, hub)
    await _topup_debit(engine, "D000000000001", 1, clock.now())
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM prepaid_accounts"))
    await _announce(engine, "D000000000001", "debit.scheduled", clock.now())
    with capture_logs() as logs:
        assert await dispatch(engine, clock, hub) == 1  # the outbox goes on
    assert await queued(engine) == []
    (logged,) = [e for e in logs if e["event"] == "notify.event_unusable"]
    assert "not prepaid" in logged["error"]


# ------------------------------------------------------------ the templates themselves


PREPAID = {
    "biller": "BJPOWER",
    "biller_name": "国网北京电力",
    "category": "electricity",
    "account_no": "0112345678",
    "balance": -123456,
}
PARAMS: dict[str, dict[str, Any]] = {
    "prepaid.low": {**PREPAID, "balance": 1999, "day": "2026-11-21", "reminder": 2000},
    "prepaid.arrears": {**PREPAID, "day": "2026-11-21", "cut_from": "2026-11-23T01:00:00+00:00"},
    "prepaid.cut": {**PREPAID, "at": "2026-11-24T02:00:00+00:00"},
    "prepaid.restored": {**PREPAID, "balance": 1, "payment_id": "P01", "state": "LOW"},
    "prepaid.rewarded": {
        **PREPAID,
        "balance": 500000,
        "payment_id": "P01",
        "points": 1,
        "month": "2026-11",
    },
    "prepaid.topup": {
        "biller": "BJPOWER",
        "biller_name": "国网北京电力",
        "account_no": "0112345678",
        "payment_id": "P01",
        "order_id": "WX1",
        "amount": 123456789,
        "receipt_no": "R202611220000000001",
        "balance": 123456700,
        "paid_at": "2026-11-22T15:30:00+08:00",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", PARAMS)
def test_each_prepaid_message_renders_without_gaps_and_needs_its_params(
    template: str, language: str
) -> None:
    out = render(template, language, PARAMS[template])
    assert out.subject and "\n" not in out.subject and out.text == out.text.strip()
    for leftover in ("{{", "{%", "None", "  "):
        assert leftover not in out.subject + out.text
    for key in ("account_no", "balance"):
        with pytest.raises(UndefinedError):
            render(template, language, {k: v for k, v in PARAMS[template].items() if k != key})


def test_amounts_are_yuan_with_two_decimals_and_a_sign() -> None:
    zh = {t: render(t, "zh-CN", p).text for t, p in PARAMS.items()}
    en = {t: render(t, "en", p).text for t, p in PARAMS.items()}
    assert "余额为19.99元，已低于提醒金额20.00元" in zh["prepaid.low"]
    assert "余额为-1,234.56元，已欠费1,234.56元" in zh["prepaid.arrears"]
    assert "-1,234.56 yuan, 1,234.56 yuan in arrears" in en["prepaid.arrears"]
    assert "2026年11月23日 09:00" in zh["prepaid.arrears"]  # shown in Shanghai time
    assert "需交费超过1,234.56元" in zh["prepaid.cut"]
    assert "当前余额0.01元" in zh["prepaid.restored"]
    assert "金额：1,234,567.89元\n充值后余额：1,234,567.00元" in zh["prepaid.topup"]
    assert (
        "Amount: 1,234,567.89 yuan\nBalance after top-up: 1,234,567.00 yuan" in en["prepaid.topup"]
    )
    assert "1 reward point for" in en["prepaid.rewarded"]
    assert "Balance: 5,000.00 yuan" in en["prepaid.rewarded"]


def test_a_balance_of_exactly_zero_is_used_up_not_in_arrears() -> None:
    params = {**PARAMS["prepaid.arrears"], "balance": 0}
    assert "余额为0.00元，已用完。" in render("prepaid.arrears", "zh-CN", params).text
    assert "was 0.00 yuan: nothing left." in render("prepaid.arrears", "en", params).text
    cut = render("prepaid.cut", "zh-CN", {**PARAMS["prepaid.cut"], "balance": 0}).text
    assert "需交费" not in cut and "余额大于零即自动恢复供电" in cut


@pytest.mark.parametrize(
    ("category", "zh_cut", "en_cut"),
    [
        ("electricity", "停电通知", "Power supply cut"),
        ("water", "停水通知", "Water supply cut"),
        ("gas", "停气通知", "Gas supply cut"),
        ("property", "停止服务通知", "Service cut"),
    ],
)
def test_a_cut_names_what_it_stops(category: str, zh_cut: str, en_cut: str) -> None:
    params = {**PARAMS["prepaid.cut"], "category": category}
    assert render("prepaid.cut", "zh-CN", params).subject.startswith(zh_cut)
    assert render("prepaid.cut", "en", params).subject.startswith(en_cut)


TOPUP_DEBIT = {
    "biller": "BJPOWER",
    "biller_name": "国网北京电力",
    "account_no": "0112345678",
    "debit_id": "D000000000001",
    "mandate_id": "M01",
    "purpose": "prepaid_topup",
    "bill_nos": [],
    "amount": 5000,
    "balance": 1500,
    "planned_at": "2026-11-23T09:30:00+08:00",
    "deadline": "2026-11-25T22:00:00+08:00",
    "reason": "ALL_SOURCES_FAILED",
    "cap": 100000,
    "due_date": None,
}
REASONS = ("OVER_CAP", "ALL_SOURCES_FAILED", "WINDOW_MISSED", "WRITE_OFF_REFUSED", "UNRESOLVED")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_failed_top_up_is_explained_and_needs_the_balance(language: str) -> None:
    texts = {
        reason: render("autopay.failed", language, {**TOPUP_DEBIT, "reason": reason}).text
        for reason in (*REASONS, "SOMETHING_NEW")
    }
    assert len(set(texts.values())) == len(texts)
    for reason, out in texts.items():
        assert reason not in out and ("15.00元" in out or "15.00 yuan" in out)
    for template in ("debit.scheduled", "autopay.failed"):
        without = {k: v for k, v in TOPUP_DEBIT.items() if k != "balance"}
        with pytest.raises(UndefinedError):
            render(template, language, without)


@pytest.mark.parametrize(
    ("after", "first_cut"),
    [
        (shanghai(24, 10), shanghai(24, 10)),  # a working day, in the cut hours
        (shanghai(24, 17), shanghai(25, 9)),  # after them: the next morning
        (shanghai(21, 12), shanghai(23, 9)),  # Saturday: Monday
        (datetime(2026, 9, 30, 18, tzinfo=SHANGHAI), datetime(2026, 10, 8, 9, tzinfo=SHANGHAI)),
    ],
)
def test_the_outage_warning_names_the_first_moment_a_cut_may_come(
    after: datetime, first_cut: datetime
) -> None:
    assert earliest_cut(after) == first_cut


async def test_a_reconnect_the_head_end_has_not_confirmed_is_told_once_not_to_pay_again(
    engine: AsyncEngine, clock: FrozenClock, hub: Any, wechat: ChannelClient
) -> None:
    await point_at(engine, clock, hub, "WECHAT", NOWHERE)
    await to_the_cut(engine, clock, hub, wechat)
    await top_up(wechat, "TOPUP-2", 5000)
    await dispatch(engine, clock, hub)
    clock.set(shanghai(24, 12))
    overdue = {  # as headend.commands announces it, past the give-up time
        "account_no": ACCOUNT, "meter_id": "M-1", "command_id": "MC-1", "sequence": 2,
        "reason": "restored", "at": "2026-11-24T12:00:00+08:00", "detail": "HTTP 503",
    }  # fmt: skip
    async with engine.begin() as conn:
        biller_id = await conn.scalar(text("SELECT id FROM billers WHERE code = 'BJPOWER'"))
        for action in ("reconnect", "disconnect"):  # only a reconnect is ever overdue
            payload = {**overdue, "biller_id": biller_id, "action": action}
            await emit(conn, [Event(biller_id, "meter.command_overdue", "MC-1", payload,
                                    clock.now())])  # fmt: skip
    await dispatch(engine, clock, hub)
    told = [n for n in await in_order(engine) if n.template == "prepaid.reconnect_delayed"]
    assert len(told) == 3  # the reconnect's, once to each; the disconnect's to nobody
    assert {(n.recipient_kind, n.address) for n in told} == {
        ("channel", PAYER), ("sms", PHONE), ("email", EMAIL)
    }  # fmt: skip
    zh = mine(told, "channel", PAYER)[0].text["zh-CN"]
    assert "恢复供电的指令已发出，但截至2026年11月24日 12:00表计尚未确认恢复" in zh
    assert "无需重复交费" in zh
    en = mine(told, "sms", PHONE)[0].text["en"]
    assert "the meter has not confirmed it" in en and "no need to pay again" in en

"""Message templates: every one in every language, with realistic params and no gaps."""

from __future__ import annotations

from importlib.resources import files
from typing import Any, get_type_hints

import pytest
from jinja2 import UndefinedError, meta

from utilipay.notify.consumers import RULES
from utilipay.notify.params import ParamsOf
from utilipay.notify.templates import (
    _ENV,
    LANGUAGES,
    TEMPLATES,
    date_en,
    period_en,
    render,
)

DEBIT = {
    "biller": "BJWATER",
    "biller_name": "北京自来水",
    "account_no": "0112345678",
    "debit_id": "D000000000001",
    "mandate_id": "M01JDEMO",
    "bill_nos": ["B202611-0001"],
    "amount": 12345,
    "planned_at": "2026-11-23T09:30:00+08:00",
    "deadline": "2026-11-25T22:00:00+08:00",
}
MANDATE = {
    "biller": "BJWATER",
    "biller_name": "北京自来水",
    "account_no": "0112345678",
    "mandate_id": "M01JDEMO",
    "cap": 100000,
    "at": "2026-11-22T15:30:00+08:00",
}
PREPAID = {
    "biller": "BJPOWER",
    "biller_name": "国网北京电力",
    "category": "electricity",
    "account_no": "0112345678",
    "balance": -174,
}
PARAMS: dict[str, dict[str, Any]] = {
    "bill.issued": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "0112345678",
        "bill_no": "B202610-0001",
        "period": "2026-10",
        "amount": 12345,
        "late_fee": 40,
        "due_date": "2026-11-30",
    },
    "bill.due_soon": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "0112345678",
        "bill_no": "B202610-0001",
        "amount": 12345,
        "late_fee": 0,
        "due_date": "2026-11-25",
        "days_left": 3,
    },
    "bill.overdue": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "0112345678",
        "bill_no": "B202610-0001",
        "period": "2026-10",
        "amount": 12345,
        "late_fee": 370,
        "due_date": "2026-11-25",
        "days_overdue": 7,
        "schedule_day": 7,
    },
    "payment.receipt": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "0112345678",
        "payment_id": "P01JDEMO",
        "order_id": "WX20261122000123",
        "bill_nos": ["B202610-0001", "B202609-0001"],
        "amount": 20385,
        "receipt_no": "R202611220000000001",
        "paid_at": "2026-11-22T15:30:00+08:00",
    },
    "mandate.signed": MANDATE,
    "mandate.cancelled": MANDATE,
    "debit.scheduled": DEBIT,
    "autopay.succeeded": {
        **DEBIT,
        "payment_id": "P01JAUTO",
        "receipt_no": "R202611230000000007",
        "funding_source": "card-1",
        "funding_source_label": "储蓄卡(1234)",
        "at": "2026-11-23T01:31:00+00:00",
    },
    "autopay.failed": {**DEBIT, "reason": "ALL_SOURCES_FAILED", "cap": 100000, "due_date": None},
    "prepaid.low": {**PREPAID, "balance": 1999, "day": "2026-11-21", "reminder": 2000},
    "prepaid.arrears": {**PREPAID, "day": "2026-11-21", "cut_from": "2026-11-23T09:00:00+08:00"},
    "prepaid.cut": {**PREPAID, "at": "2026-11-24T10:00:00+08:00"},
    "prepaid.restored": {**PREPAID, "balance": 4826, "payment_id": "P01JTOPUP", "state": "NORMAL"},
    "prepaid.reconnect_delayed": {
        **PREPAID,
        "command_id": "MC-1",
        "at": "2026-11-24T12:00:00+08:00",
    },
    "prepaid.rewarded": {
        **PREPAID,
        "balance": 4826,
        "payment_id": "P01JTOPUP",
        "points": 10,
        "month": "2026-11",
    },
    "prepaid.statement": {
        **PREPAID,
        "month": "2026-10",
        "opening_balance": -781,
        "top_ups": 20000,
        "charges": 11719,
        "closing_balance": 7500,
        "days": 31,
        "usage": "240.000",
    },
    "prepaid.topup": {
        "biller": "BJPOWER",
        "biller_name": "国网北京电力",
        "account_no": "0112345678",
        "payment_id": "P01JTOPUP",
        "order_id": "WX20261122000124",
        "amount": 5000,
        "receipt_no": "R202611220000000002",
        "balance": 4826,
        "paid_at": "2026-11-22T15:30:00+08:00",
    },
    "outlet.float_low": {
        "account_no": "SHOP1",
        "outlet_name": "村口小卖部",
        "free": 4655,
        "low_threshold": 10000,
        "at": "2026-11-22T15:30:00+08:00",
    },
    "collection.warning": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "BJWATER/0112345678",
        "warning_id": 42,
        "kind": "account_arrears",
        "summary_en": "account 0112345678 owes 1,234.50 yuan overdue, 95 days since the oldest",
        "summary_zh": "户号0112345678逾期欠费1,234.50元，最早一笔已逾期95天",
        "at": "2026-11-22T15:30:00+08:00",
    },
    "binding.code": {
        "biller": "BJWATER",
        "biller_name": "北京自来水",
        "account_no": "0112345678",
        "code": "042917",
        "minutes": 5,
    },
}


def test_every_template_has_params_here_and_a_file_in_every_language() -> None:
    assert set(PARAMS) == set(TEMPLATES)
    shipped = files("utilipay.notify") / "templates"
    for language in LANGUAGES:
        names = {p.name for p in (shipped / language).iterdir() if p.name.endswith(".j2")}
        assert names == {f"{t}.j2" for t in TEMPLATES}


PARAMS_OF: dict[str, ParamsOf] = {
    rule.template: rule.params_of
    for first in RULES.values()
    for rule in (first, first.topup)
    if rule is not None
}


def test_every_template_is_given_its_params() -> None:
    assert set(PARAMS_OF) == set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_uses_only_the_fields_of_its_kind_of_params(template: str) -> None:
    kind = get_type_hints(PARAMS_OF[template])["return"]  # a TypedDict (notify/messages.py)
    fields = kind.__required_keys__ | kind.__optional_keys__
    shipped = files("utilipay.notify") / "templates"
    for language in LANGUAGES:
        source = (shipped / language / f"{template}.j2").read_text(encoding="utf-8")
        used = meta.find_undeclared_variables(_ENV.parse(source))  # the hub's filters
        assert used <= fields, f"{language}/{template}.j2 uses {sorted(used - fields)}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_language(template: str, language: str) -> None:
    out = render(template, language, PARAMS[template])
    assert out.subject and "\n" not in out.subject
    assert out.text
    for leftover in ("{{", "{%", "None", "  "):
        assert leftover not in out.subject + out.text
    assert out.text == out.text.strip()


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_missing_param_is_an_error(template: str) -> None:
    params = dict(PARAMS[template])
    del params["account_no"]
    with pytest.raises(UndefinedError):
        render(template, "zh-CN", params)


def test_the_receipt_shows_its_number_the_yuan_amount_and_shanghai_time() -> None:
    zh = render("payment.receipt", "zh-CN", PARAMS["payment.receipt"])
    assert "R202611220000000001" in zh.text
    assert "203.85元" in zh.text
    assert "北京自来水" in zh.text and "0112345678" in zh.text
    assert "2026年11月22日 15:30" in zh.text
    assert "B202610-0001、B202609-0001" in zh.text
    en = render("payment.receipt", "en", PARAMS["payment.receipt"])
    assert "203.85 yuan" in en.text and "22 Nov 2026, 15:30 (Beijing time)" in en.text


def test_a_utc_instant_is_shown_in_shanghai_time() -> None:
    done = render("autopay.succeeded", "zh-CN", PARAMS["autopay.succeeded"])
    assert "2026年11月23日 09:31" in done.text
    assert "储蓄卡(1234)" in done.text


def test_amounts_are_yuan_with_the_late_fee_in_the_total() -> None:
    issued = render("bill.issued", "zh-CN", PARAMS["bill.issued"])
    assert "应缴123.85元（含滞纳金0.40元）" in issued.text
    assert "2026年11月30日" in issued.text and "2026年10月" in issued.subject
    big = render("debit.scheduled", "en", {**DEBIT, "amount": 123456789})
    assert "1,234,567.89 yuan" in big.text


REASONS = ("OVER_CAP", "ALL_SOURCES_FAILED", "WINDOW_MISSED", "WRITE_OFF_REFUSED", "UNRESOLVED")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_autopay_failure_is_explained_in_its_own_words(language: str) -> None:
    texts = {
        reason: render("autopay.failed", language, {**PARAMS["autopay.failed"], "reason": reason})
        for reason in (*REASONS, "SOMETHING_NEW")
    }
    assert len({t.text for t in texts.values()}) == len(texts)
    for reason, out in texts.items():
        assert reason not in out.text  # words, not codes
    over = render(
        "autopay.failed",
        language,
        {**PARAMS["autopay.failed"], "reason": "OVER_CAP", "due_date": "2026-11-30"},
    )
    assert "1,000.00" in over.text  # the cap
    assert ("2026年11月30日" if language == "zh-CN" else "30 Nov 2026") in over.text


def test_the_failure_tells_the_payer_to_pay_by_hand_before_the_due_date() -> None:
    params = {**PARAMS["autopay.failed"], "due_date": "2026-11-30"}
    assert "请在2026年11月30日前手动缴费" in render("autopay.failed", "zh-CN", params).text
    assert "请尽快手动缴费" in render("autopay.failed", "zh-CN", PARAMS["autopay.failed"]).text


def test_a_reminder_counts_the_days_left() -> None:
    soon = PARAMS["bill.due_soon"]
    assert "还有3天" in render("bill.due_soon", "zh-CN", soon).text
    assert "今天" in render("bill.due_soon", "zh-CN", {**soon, "days_left": 0}).subject
    assert render("bill.due_soon", "en", {**soon, "days_left": 1}).subject.endswith("tomorrow")
    assert render("bill.due_soon", "en", soon).subject.endswith("in 3 days")


def test_english_dates_are_spelled_out() -> None:
    assert date_en("2026-09-05") == "5 Sep 2026"
    assert period_en("2026-09") == "September 2026"


def test_unknown_templates_and_languages_are_refused() -> None:
    with pytest.raises(ValueError, match="no template"):
        render("../secrets", "zh-CN", {})
    with pytest.raises(ValueError, match="no template"):
        render("bill.issued", "fr", PARAMS["bill.issued"])

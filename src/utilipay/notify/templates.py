"""Message templates: ``templates/<language>/<name>.j2``, each with a ``subject`` and a
``body`` block of plain text.

Params are what the channel receives too, so they stay machine values: amounts
in integer fen, dates ``YYYY-MM-DD``, instants RFC 3339; the filters turn them
into words for people (yuan; dates and times in Asia/Shanghai). A param a
template uses and the caller did not give is an error (``StrictUndefined``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined

from utilipay.clock import SHANGHAI, as_utc
from utilipay.money import format_yuan

DEFAULT_LANGUAGE: Final = "zh-CN"
LANGUAGES: Final = ("zh-CN", "en")
TEMPLATES: Final = (
    "bill.issued",
    "bill.due_soon",
    "bill.overdue",
    "payment.receipt",
    "mandate.signed",
    "mandate.cancelled",
    "debit.scheduled",
    "autopay.succeeded",
    "autopay.failed",
    "prepaid.low",
    "prepaid.arrears",
    "prepaid.cut",
    "prepaid.restored",
    "prepaid.rewarded",
    "prepaid.statement",
    "prepaid.topup",
    "prepaid.reconnect_delayed",
    "outlet.float_low",
    "collection.warning",
    "binding.code",
)
# Not the locale's month names: a worker's locale must not change what payers read.
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# What a prepaid cut stops, by the biller's category (停电: the supply of power is cut).
_SUPPLY_ZH: Final = {"electricity": "供电", "water": "供水", "gas": "供气", "heating": "供热"}
_CUT_ZH: Final = {"electricity": "停电", "water": "停水", "gas": "停气", "heating": "停暖"}
_SUPPLY_EN: Final = {
    "electricity": "power supply",
    "water": "water supply",
    "gas": "gas supply",
    "heating": "heating",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str


def _day(value: str | date) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _local(value: str | datetime) -> datetime:
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(instant).astimezone(SHANGHAI)


def date_zh(value: str | date) -> str:
    day = _day(value)
    return f"{day.year}年{day.month}月{day.day}日"


def date_en(value: str | date) -> str:
    day = _day(value)
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def time_zh(value: str | datetime) -> str:
    local = _local(value)
    return f"{date_zh(local.date())} {local:%H:%M}"


def time_en(value: str | datetime) -> str:
    local = _local(value)
    return f"{date_en(local.date())}, {local:%H:%M} (Beijing time)"


def period_zh(period: str) -> str:
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


def period_en(period: str) -> str:
    year, month = period.split("-")
    return f"{_MONTHS[int(month) - 1]} {year}"


def supply_zh(category: str) -> str:
    return _SUPPLY_ZH.get(category, "服务")


def halt_zh(category: str) -> str:
    return _CUT_ZH.get(category, "停止服务")


def supply_en(category: str) -> str:
    return _SUPPLY_EN.get(category, "service")


_ENV = Environment(
    loader=PackageLoader("utilipay.notify", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain text for SMS, text/plain e-mail and JSON, never HTML
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(
    yuan=format_yuan,
    date_zh=date_zh,
    date_en=date_en,
    time_zh=time_zh,
    time_en=time_en,
    period_zh=period_zh,
    period_en=period_en,
    supply_zh=supply_zh,
    halt_zh=halt_zh,
    supply_en=supply_en,
)


def render(template: str, language: str, params: Mapping[str, Any]) -> Rendered:
    """The subject and text of ``template`` in ``language``; raises on a missing param."""
    if template not in TEMPLATES or language not in LANGUAGES:
        raise ValueError(f"no template {template!r} in {language!r}")
    loaded = _ENV.get_template(f"{language}/{template}.j2")
    context = loaded.new_context(dict(params))
    subject, body = ("".join(loaded.blocks[b](context)).strip() for b in ("subject", "body"))
    return Rendered(subject=subject, text=body)

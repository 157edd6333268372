"""Rendering pages: one Jinja2 environment (autoescaped), the filters every page uses
for money and time, the translator of the visitor's language, and the navigation of
their role.

Amounts are always yuan with two decimals and thousands separators (``¥1,234.50``);
times are Asia/Shanghai, to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from utilipay.clock import SHANGHAI
from utilipay.console.i18n import Locale, locale_of, translator
from utilipay.money import format_yuan
from utilipay.staff.roles import Permission, Staff


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str
    permission: Permission


# The console's sections, in the order of the menu; each shows to those who may open it.
NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/console/dashboard", Permission.DASHBOARD),
    NavItem("Payments", "/console/payments", Permission.PAYMENTS_READ),
    NavItem("Payer look-up", "/console/lookup", Permission.PAYER_LOOKUP),
    NavItem("Exceptions", "/console/exceptions", Permission.EXCEPTIONS_READ),
    NavItem("Reconciliation", "/console/recon", Permission.RECON_READ),
    NavItem("Settlement", "/console/settlement", Permission.SETTLEMENT_READ),
    NavItem("Accounts", "/console/accounts", Permission.ACCOUNTS_READ),
    NavItem("Imports", "/console/imports", Permission.IMPORTS_RUN),
    NavItem("Billing runs", "/console/billing-runs", Permission.BILLING_RUNS),
    NavItem("Tariffs", "/console/tariffs", Permission.TARIFFS_READ),
    NavItem("Late fees", "/console/late-fees", Permission.TARIFFS_READ),
    NavItem("Meter commands", "/console/meter-commands", Permission.METER_COMMANDS_READ),
    NavItem("Early warning", "/console/warnings", Permission.WARNINGS_MANAGE),
    NavItem("Outlets", "/console/outlets", Permission.OUTLETS_READ),
    NavItem("Reports", "/console/reports", Permission.REPORTS_READ),
    NavItem("Utilities", "/console/billers", Permission.BILLERS_MANAGE),
    NavItem("Channels", "/console/channels", Permission.CHANNELS_MANAGE),
    NavItem("Users", "/console/users", Permission.USERS_MANAGE),
    NavItem("API tokens", "/console/tokens", Permission.TOKENS_MANAGE),
    NavItem("Audit log", "/console/audit", Permission.AUDIT_READ),
)


# Console pages hold payers' data: never cached, never framed by another site (clickjacking),
# no address leaked in a Referer to another site, no content sniffed into a script.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"¥{format_yuan(fen)}"


def shanghai(instant: datetime | None) -> str:
    return "" if instant is None else f"{instant.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


ENV = Environment(
    loader=PackageLoader("utilipay.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt variable fails the page's test, not silently
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(yuan=yuan, shanghai=shanghai, day=day)


def render(
    request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    locale: Locale = locale_of(request)
    staff: Staff | None = getattr(request.state, "staff", None)
    csrf_token: str = getattr(request.state, "csrf_token", "")
    page = ENV.get_template(template).render(
        request=request,
        _=translator(locale),
        locale=locale,
        staff=staff,
        csrf_token=csrf_token,
        # every form of a signed-in page carries it (visits.check_csrf)
        csrf_field=Markup('<input type="hidden" name="csrf_token" value="{}">').format(
            escape(csrf_token)
        ),
        nav=[item for item in NAV if staff is not None and staff.may(item.permission)],
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=PAGE_HEADERS)

"""Rendering the payer pages: the console's filters for money and time (yuan, Asia/Shanghai),
the payer's language, and the security headers every page sends.

The policy is strict: only the hub's own scripts, styles and images (no inline script, no
CDN); forms post only to the hub and to the channel's cashier; and only the channel's own
origins may frame the pages (none unless the channel names them).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from utilipay.billers.lookup import BillerHost
from utilipay.channels.schemas import Channel
from utilipay.common.masking import mask_name
from utilipay.console.i18n import DEFAULT, Locale, translator
from utilipay.console.templating import day, shanghai, yuan
from utilipay.h5.visits import LANG_COOKIE, Payer

PACKAGE = "utilipay.h5"
BASE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def policy(channel: Channel | None) -> str:
    """The Content-Security-Policy of a page shown at ``channel`` (None: before a session)."""
    ancestors: tuple[str, ...] = ("'none'",)
    form_action = ["'self'"]
    if channel is not None:
        ancestors = channel.frame_ancestors or ancestors
        # Chromium checks a form's redirect too: paying goes on to the cashier
        form_action += [_origin(channel.cashier_url)] if channel.cashier_url else []
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"object-src 'none'; base-uri 'none'; form-action {' '.join(form_action)}; "
        f"frame-ancestors {' '.join(ancestors)}"
    )


def headers(channel: Channel | None) -> dict[str, str]:
    return {**BASE_HEADERS, "Content-Security-Policy": policy(channel)}


def locale_of(request: Request) -> Locale:
    chosen = request.cookies.get(LANG_COOKIE)
    return Locale(chosen) if chosen in set(Locale) else DEFAULT


ENV = Environment(
    loader=PackageLoader(PACKAGE, "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# a holder's name is never shown whole, even if a utility's answer was not masked
ENV.filters.update(yuan=yuan, shanghai=shanghai, day=day, masked=mask_name)


def _biller_names(request: Request) -> Callable[[str], str]:
    """A utility's name for its code (a payer knows 北京自来水, not BJWATER)."""
    hub: BillerHost = request.app.state.hub

    def name(code: str) -> str:
        biller = hub.biller(code)
        return biller.name if biller else code

    return name


def render(
    request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    locale = locale_of(request)
    payer: Payer | None = getattr(request.state, "payer", None)
    csrf_token = payer.csrf_token if payer else ""
    page = ENV.get_template(template).render(
        request=request,
        _=translator(locale, PACKAGE),
        locale=locale,
        payer=payer,
        csrf_token=csrf_token,
        biller_name=_biller_names(request),
        csrf_field=Markup('<input type="hidden" name="csrf_token" value="{}">').format(
            escape(csrf_token)
        ),
        **context,
    )
    channel = payer.channel if payer else None
    return HTMLResponse(page, status_code=status_code, headers=headers(channel))

"""The way in (a signed launch link), the language switch, and the refusal of anything else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import Locale, words
from utilipay.h5 import launch as links
from utilipay.h5.sessions import LIFETIME, open_from_launch
from utilipay.h5.templating import headers, render
from utilipay.h5.visits import COOKIE_PATH, LANG_COOKIE, SESSION_COOKIE, host

router = APIRouter()

# The same answer for every link refused: a caller learns nothing of which part failed.
REFUSED = words("This link cannot be used. Please open these pages again from your app.")


def _cookie(request: Request, response: Response, name: str, value: str) -> None:
    """Over https the cookies are sent inside a channel's page that frames these pages
    (``--frame-ancestors``): a Lax cookie is not sent to a cross-site frame, so the session
    would end at the first click. SameSite=None costs nothing the pages rely on: every
    form carries the session's CSRF token, and only the channel's origins may frame them.
    Partitioned keeps the framed session in the channel's site alone (CHIPS), as browsers
    that block third-party cookies require. Plain http is for a loopback trial only, where
    a browser refuses SameSite=None."""
    secure = request.url.scheme == "https"
    response.set_cookie(
        name,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="none" if secure else "lax",
        secure=secure,
    )
    if secure:  # Starlette refuses Partitioned before Python 3.14; the hub runs on 3.11 up
        header, cookie = response.raw_headers[-1]
        response.raw_headers[-1] = (header, cookie + b"; Partitioned")


@router.get("/launch")
async def launch(request: Request) -> Response:
    hub = host(request)
    parsed = links.parse(request.query_params)
    async with hub.engine.begin() as conn:
        opened = await open_from_launch(conn, hub.clock, parsed)
    if opened is None or parsed is None:
        return render(request, "refused.html", status_code=401, message=REFUSED)
    token, _session = opened
    response = RedirectResponse("/h5/", status_code=303, headers=headers(None))
    _cookie(request, response, SESSION_COOKIE, token)
    _cookie(request, response, LANG_COOKIE, parsed.lang)
    return response


@router.get("/language/{locale}")
async def language(
    request: Request, locale: Locale, back: Annotated[str, Query(max_length=300)] = "/h5/"
) -> Response:
    """Switch the language, keeping the session; back only to a page of these pages."""
    target = back if back.startswith("/h5/") and "//" not in back else "/h5/"
    response = RedirectResponse(target, status_code=303, headers=headers(None))
    _cookie(request, response, LANG_COOKIE, locale)
    return response

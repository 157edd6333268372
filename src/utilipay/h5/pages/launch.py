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
    response.set_cookie(
        name,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


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

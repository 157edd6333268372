"""``/console/``: the first section of the menu the person may open."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from utilipay.console.i18n import COOKIE, Locale
from utilipay.console.pages.signin import safe_next
from utilipay.console.templating import NAV
from utilipay.console.visits import SignedIn

router = APIRouter()


@router.get("/")
async def home(staff: SignedIn) -> Response:
    first = next((item.path for item in NAV if staff.may(item.permission)), "/console/me")
    return RedirectResponse(first, status_code=303)


@router.get("/language/{locale}")
async def choose_language(request: Request, locale: Locale, back: str = "/console/") -> Response:
    """The switch on every page; the choice is a cookie, so it holds before sign-in too."""
    response = RedirectResponse(safe_next(back), status_code=303)
    response.set_cookie(COOKIE, locale, max_age=365 * 86400, path="/console", samesite="lax")
    return response

"""What the administration pages share: a reason (kept in the audit log) for every
sensitive change, and secrets shown once.

Secrets the console makes (a utility's key, a channel's secret, an API token, a first
password) are shown once, on the answer to the form that made them: the page is not
cached, and its address becomes the object's own page, so a reload shows it no more.
The hub keeps them sealed or hashed, never in clear."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Form
from starlette.requests import Request
from starlette.responses import Response

from utilipay.console.templating import render

GENERATED_BYTES = 32  # 43 URL-safe characters, above every secret's minimum length
# Required, and more than blanks: the audit log says why
Reason = Annotated[str, Form(max_length=500, pattern=r"^\s*\S[\s\S]*$")]


@dataclass(frozen=True, slots=True)
class Shown:
    title: str  # English, translated by the template
    secret: str
    back: str  # the page a reload opens: the object's own, without the secret


def new_secret() -> str:
    return secrets.token_urlsafe(GENERATED_BYTES)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the answer to a form says above the page: done, refused, or a secret."""

    status_code: int = 200
    message: str = ""
    error: str = ""
    shown: Shown | None = None


PLAIN = Outcome()  # the page as it is, nothing said above it


def render_outcome(
    request: Request, template: str, outcome: Outcome, **context: object
) -> Response:
    page = render(
        request, template, status_code=outcome.status_code, message=outcome.message,
        error=outcome.error, shown=outcome.shown, **context,
    )  # fmt: skip
    if outcome.shown is not None:  # no cache, no back-button copy of the secret
        page.headers["Cache-Control"] = "no-store"
    return page

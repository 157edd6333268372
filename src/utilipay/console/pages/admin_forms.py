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
from starlette.responses import Response

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


def not_kept(response: Response) -> Response:
    """No cache, no back-button copy of the page with the secret."""
    response.headers["Cache-Control"] = "no-store"
    return response

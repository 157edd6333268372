"""Fast JSON responses, and strict parsing of request bodies into models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from utilipay.errors import DomainError, ErrorCode

M = TypeVar("M", bound=BaseModel)


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def parse_body(model: type[M], body: bytes, content_type: str | None) -> M:
    if not content_type or content_type.split(";")[0].strip().lower() != "application/json":
        raise DomainError(ErrorCode.MALFORMED_REQUEST, "Content-Type must be application/json")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            describe(exc.errors(include_url=False, include_input=False)),
        ) from None


def describe(errors: Sequence[Any]) -> str:
    """Validation errors (pydantic's or FastAPI's) as one line a client can act on."""
    parts = []
    for error in errors[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)

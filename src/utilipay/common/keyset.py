"""The cursor of a newest-first page: the position (time, id) of its last row, opaque to
the reader, so the next page starts right after it however many rows arrive meanwhile."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from utilipay.clock import as_utc
from utilipay.errors import DomainError, ErrorCode

Key = int | str


def cursor_of(at: datetime, row_id: Key) -> str:
    raw = json.dumps([as_utc(at).isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position_of(cursor: str, key: type[Key]) -> tuple[datetime, Key]:
    """The (time, id) a cursor of ``cursor_of`` holds, its id of the type ``key``."""
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(row_id, key):
            raise TypeError(row_id)
        return as_utc(datetime.fromisoformat(at)), row_id
    except (binascii.Error, ValueError, TypeError):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "cursor is not one a previous page gave"
        ) from None

"""The cursor of a newest-first page: the position (time, id) of its last row, opaque to
the reader, so the next page starts right after it however many rows arrive meanwhile.

A cursor is not signed: it only says where a list the reader may see resumes. It is
validated instead, to values the database can compare with (a time PostgreSQL and Python
both hold, an id of printable text or within BIGINT), so an altered one is a 400, never an
error of the database.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from utilipay.clock import as_utc
from utilipay.common.validation import has_control_characters
from utilipay.errors import DomainError, ErrorCode

Key = int | str
MAX_TEXT_KEY = 64  # characters of an id: the hub's are ULIDs with a prefix
MAX_BIGINT = 2**63 - 1


def cursor_of(at: datetime, row_id: Key) -> str:
    raw = json.dumps([as_utc(at).isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position_of(cursor: str, key: type[Key]) -> tuple[datetime, Key]:
    """The (time, id) a cursor of ``cursor_of`` holds, its id of the type ``key``."""
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(row_id, key) and _storable(row_id)):
            raise TypeError(row_id)
        return as_utc(datetime.fromisoformat(at)), row_id
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, "cursor is not one a previous page gave"
        ) from None


def _storable(row_id: Key) -> bool:
    if isinstance(row_id, str):
        return 0 < len(row_id) <= MAX_TEXT_KEY and not has_control_characters(row_id)
    return not isinstance(row_id, bool) and 0 <= row_id <= MAX_BIGINT

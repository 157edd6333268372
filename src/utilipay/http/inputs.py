"""The shapes every client-controlled input takes, checked at the edge before any database call.

Path segments, query parameters and request bodies share these types, so a value the
database could not hold (NUL in text, an id past BIGINT, a date whose arithmetic
overflows) is a 400 ``MALFORMED_REQUEST``, never a database error. FastAPI puts the
constraints in the OpenAPI document too, where a client (and the fuzzer) reads them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Path, Query
from pydantic import Field, StrictInt, StrictStr

from utilipay.common.validation import PRINTABLE

MAX_BIGINT = 2**63 - 1
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
# Free text (a reason) may span lines; other control characters and NUL are refused.
PROSE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# A business date the hub can compute with: days before and after it stay representable.
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]
# A database id (BIGINT) given in a path.
IdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
# An amount in fen an operator configures (stored as BIGINT).
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_BIGINT)]


def text_query(max_length: int, alias: str | None = None) -> Any:
    """A query parameter of printable text (no control characters, no NUL)."""
    return Query(alias=alias, min_length=1, max_length=max_length, pattern=PRINTABLE)


def text_path(max_length: int) -> Any:
    """A path segment of printable text."""
    return Path(min_length=1, max_length=max_length, pattern=PRINTABLE)


def day_query(alias: str) -> Any:
    return Query(alias=alias, description=f"a date from {FIRST_DAY} to {LAST_DAY}")


def text_field(max_length: int) -> Any:
    """A body field of printable text."""
    return Field(min_length=1, max_length=max_length, pattern=PRINTABLE)


Reason = Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=PROSE)]

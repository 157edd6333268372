"""Reading and writing the fields of biller protocol messages: each field strictly typed,
anything missing or ill-typed a ``ProtocolError`` with code 8002 naming the field."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from utilipay.billers.protocol.codes import Code, ProtocolError
from utilipay.clock import SHANGHAI

MAX_AMOUNT = 10**15
_INT = re.compile(r"[0-9]{1,16}")


def malformed(detail: str) -> ProtocolError:
    return ProtocolError(Code.MALFORMED, detail)


def read_text(parent: ET.Element, tag: str, *, required: bool = True, max_len: int = 64) -> str:
    node = parent.find(tag)
    if node is None:
        if required:
            raise malformed(f"<{tag}> is missing")
        return ""
    if len(node) > 0:
        raise malformed(f"<{tag}> must hold text, not elements")
    value = (node.text or "").strip()
    if required and not value:
        raise malformed(f"<{tag}> is empty")
    if len(value) > max_len:
        raise malformed(f"<{tag}> is longer than {max_len} characters")
    return value


def read_fen(parent: ET.Element, tag: str) -> int:
    value = read_text(parent, tag)
    if not _INT.fullmatch(value) or int(value) > MAX_AMOUNT:
        raise malformed(f"<{tag}> must be a whole number of fen, got {value[:20]!r}")
    return int(value)


def read_date(parent: ET.Element, tag: str) -> date:
    value = read_text(parent, tag)
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise malformed(f"<{tag}> must be yyyyMMdd, got {value[:20]!r}") from None


def read_time(parent: ET.Element, tag: str) -> datetime:
    value = read_text(parent, tag)
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise malformed(f"<{tag}> must be yyyyMMddHHmmss, got {value[:20]!r}") from None


def read_period(parent: ET.Element, tag: str) -> str:
    value = read_text(parent, tag)
    if not re.fullmatch(r"[0-9]{4}(0[1-9]|1[0-2])", value):
        raise malformed(f"<{tag}> must be yyyyMM, got {value[:20]!r}")
    return value


E = TypeVar("E", bound=StrEnum)


def read_enum(parent: ET.Element, tag: str, kind: type[E]) -> E:
    value = read_text(parent, tag)
    try:
        return kind(value)
    except ValueError:
        raise malformed(f"<{tag}> {value[:20]!r} is not one of {[k.value for k in kind]}") from None


# ---------------------------------------------------------------- writing fields

Fields = list[tuple[str, Any]]  # (tag, str | int | Fields)


def render_fields(fields: Fields) -> str:
    out = []
    for tag, value in fields:
        inner = render_fields(value) if isinstance(value, list) else escape(str(value))
        out.append(f"<{tag}>{inner}</{tag}>")
    return "".join(out)

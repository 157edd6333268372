"""SQL statements with their ``:day``, ``:month`` and ``:now`` typed: asyncpg must know
a parameter's type up front, and in ``:day - 1`` or ``:now - interval`` PostgreSQL
cannot infer it."""

from __future__ import annotations

from sqlalchemy import Date, DateTime, TextClause, bindparam, text

_TYPED = (
    bindparam("day", type_=Date),
    bindparam("month", type_=Date),
    bindparam("now", type_=DateTime(timezone=True)),
)


def typed(statement: str) -> TextClause:
    return text(statement).bindparams(*(p for p in _TYPED if f":{p.key}" in statement))

"""Opaque, time-ordered identifiers for objects the hub issues (payments, bindings, …)."""

from __future__ import annotations

from ulid import ULID


def new_id(prefix: str) -> str:
    """``prefix`` + a ULID: unique, sortable by creation time, 27-30 characters."""
    return f"{prefix}{ULID()}"

"""Masking personal data a channel shows a payer before the payer is known (张三 → 张*)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_address(address: str, keep: int = 3) -> str:
    address = address.strip()
    if not address:
        return ""
    return address[:keep] + "***"

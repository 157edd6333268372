"""Masking personal data a channel shows a payer before the payer is known (张三 → 张*,
13800138000 → 138****8000)."""

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


def mask_phone(phone: str) -> str:
    """The first three and last four digits of a mobile number, as Chinese apps show it; of a
    shorter number only the last two."""
    phone = phone.strip()
    if len(phone) < 11:
        return "*" * max(4, len(phone) - 2) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]

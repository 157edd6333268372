"""Resolving the biller a channel names."""

from __future__ import annotations

from utilipay.billers.schemas import Biller, BillerStatus
from utilipay.errors import DomainError, ErrorCode


def active_biller(biller: Biller | None, code: str) -> Biller:
    if biller is None or biller.status is not BillerStatus.ACTIVE:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no active biller {code[:32]!r}")
    return biller

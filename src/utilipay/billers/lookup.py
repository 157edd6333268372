"""Resolving the biller a request names."""

from __future__ import annotations

from typing import Protocol

from utilipay.billers.schemas import Biller, BillerStatus
from utilipay.errors import DomainError, ErrorCode
from utilipay.http.host import Host


class BillerHost(Host, Protocol):
    """The billers a hub process knows (cached, reloaded when they change)."""

    def biller(self, code: str) -> Biller | None: ...

    def biller_by_id(self, biller_id: int) -> Biller | None: ...

    def billers(self) -> list[Biller]: ...

    def biller_code(self, biller_id: int) -> str: ...


def active_biller(biller: Biller | None, code: str) -> Biller:
    if biller is None or biller.status is not BillerStatus.ACTIVE:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no active biller {code[:32]!r}")
    return biller


def held_biller(hub: BillerHost, biller_id: int) -> Biller:
    """The biller of something the hub holds (a mandate, an enrolment) by its id."""
    biller = hub.biller_by_id(biller_id)
    if biller is None:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"biller {biller_id} is gone")
    return biller

"""Resolving the biller a channel names, and reaching its books."""

from __future__ import annotations

from utilipay.billers.connector import BillerConnector, HostedConnector
from utilipay.billers.schemas import Biller, BillerStatus, IntegrationMode
from utilipay.errors import DomainError, ErrorCode

_CONNECTORS: dict[IntegrationMode, BillerConnector] = {IntegrationMode.HOSTED: HostedConnector()}


def active_biller(biller: Biller | None, code: str) -> Biller:
    if biller is None or biller.status is not BillerStatus.ACTIVE:
        raise DomainError(ErrorCode.BILLER_NOT_FOUND, f"no active biller {code[:32]!r}")
    return biller


def connector_for(biller: Biller) -> BillerConnector:
    connector = _CONNECTORS.get(biller.mode)
    if connector is None:
        raise DomainError(ErrorCode.BILLER_UNAVAILABLE, f"biller {biller.code} is not reachable")
    return connector

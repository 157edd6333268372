"""What an API token may do. Each admin route needs exactly one scope; no scope implies
another, so a token carries only what its holder was given (a Prometheus scrape holds
``metrics:read`` and nothing else)."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    METRICS_READ = "metrics:read"
    OPS_READ = "ops:read"
    OPS_WRITE = "ops:write"
    SETTLEMENT_WRITE = "settlement:write"
    CONFIG_WRITE = "config:write"


MEANING = {
    Scope.METRICS_READ: "GET /metrics",
    Scope.OPS_READ: "read exceptions, recon runs, settlements, readings usage, the audit log, "
    "billers' prepaid settings, late-fee rules and a bill's late fee",
    Scope.OPS_WRITE: "resolve exceptions, run recon and apply its corrections, upload readings",
    Scope.SETTLEMENT_WRITE: "run settlement, set payout accounts and fee rules",
    Scope.CONFIG_WRITE: "configure billers (their prepaid settings, late-fee rules) and waive "
    "late fees",
}

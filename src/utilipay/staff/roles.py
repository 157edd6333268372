"""Roles and what each may do in the console.

A role is a fixed set of permissions: each page and each action names the one permission
it needs, so what a role can reach is read off one table here (and
``tests/staff/test_roles.py`` keeps it to what the roles are for). Utility staff are
further scoped to one utility and its branches; that scope is checked on every object a
page shows (see ``Staff.may_see``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    OPERATIONS = "operations"
    UTILITY_STAFF = "utility_staff"
    CUSTOMER_SERVICE = "customer_service"
    AUDITOR = "auditor"


class Permission(StrEnum):
    # platform administration
    CHANNELS_MANAGE = "channels:manage"
    BILLERS_MANAGE = "billers:manage"
    USERS_MANAGE = "users:manage"
    TOKENS_MANAGE = "tokens:manage"
    # operations
    DASHBOARD = "dashboard"
    PAYMENTS_READ = "payments:read"
    EXCEPTIONS_READ = "exceptions:read"
    EXCEPTIONS_RESOLVE = "exceptions:resolve"
    RECON_READ = "recon:read"
    RECON_APPLY = "recon:apply"
    SETTLEMENT_READ = "settlement:read"
    PAYOUT_ACCOUNT_CHANGE = "payout-account:change"
    PAYOUT_ACCOUNT_APPROVE = "payout-account:approve"
    METER_COMMANDS_READ = "meter-commands:read"
    QUEUES_READ = "queues:read"
    # agent channels' outlets, terminals, operators and float (the channel's, no utility's)
    OUTLETS_READ = "outlets:read"
    OUTLETS_MANAGE = "outlets:manage"
    # a utility's own work
    ACCOUNTS_READ = "accounts:read"
    IMPORTS_RUN = "imports:run"
    BILLING_RUNS = "billing-runs"
    TARIFFS_READ = "tariffs:read"
    # collection management (issue 13): reports, early-warning rules and their warnings,
    # late-fee rules and waivers, a payer's reminder choices
    REPORTS_READ = "reports:read"
    ANALYSES_MAKE = "analyses:make"  # a monthly analysis made again now, and kept
    WARNINGS_MANAGE = "warnings:manage"
    LATE_FEES_MANAGE = "late-fees:manage"
    REMINDERS_MANAGE = "reminders:manage"
    # customer service
    PAYER_LOOKUP = "payer:lookup"
    RECEIPT_RESEND = "receipt:resend"
    MANDATE_CANCEL = "mandate:cancel"
    # auditors (and admins)
    AUDIT_READ = "audit:read"


P = Permission
# What reading the platform takes: an auditor holds all of it and nothing that writes.
READ_ALL = frozenset(
    {
        P.DASHBOARD,
        P.PAYMENTS_READ,
        P.EXCEPTIONS_READ,
        P.RECON_READ,
        P.SETTLEMENT_READ,
        P.METER_COMMANDS_READ,
        P.QUEUES_READ,
        P.OUTLETS_READ,
        P.ACCOUNTS_READ,
        P.TARIFFS_READ,
        P.PAYER_LOOKUP,
        P.AUDIT_READ,
        P.REPORTS_READ,
    }
)

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(
        {
            P.CHANNELS_MANAGE,
            P.BILLERS_MANAGE,
            P.USERS_MANAGE,
            P.TOKENS_MANAGE,
            P.AUDIT_READ,
            P.DASHBOARD,
        }
    ),
    Role.OPERATIONS: frozenset(
        {
            P.DASHBOARD,
            P.PAYMENTS_READ,
            P.EXCEPTIONS_READ,
            P.EXCEPTIONS_RESOLVE,
            P.RECON_READ,
            P.RECON_APPLY,
            P.SETTLEMENT_READ,
            P.PAYOUT_ACCOUNT_CHANGE,
            P.PAYOUT_ACCOUNT_APPROVE,
            P.METER_COMMANDS_READ,
            P.QUEUES_READ,
            P.IMPORTS_RUN,  # for any utility, when a utility's own people cannot
            P.OUTLETS_READ,
            P.OUTLETS_MANAGE,
            P.REPORTS_READ,
            P.ANALYSES_MAKE,
            P.WARNINGS_MANAGE,
        }
    ),
    Role.UTILITY_STAFF: frozenset(
        {
            P.DASHBOARD,
            P.PAYMENTS_READ,
            P.ACCOUNTS_READ,
            P.IMPORTS_RUN,
            P.BILLING_RUNS,
            P.TARIFFS_READ,
            P.SETTLEMENT_READ,
            P.METER_COMMANDS_READ,
            P.REPORTS_READ,
            P.ANALYSES_MAKE,
            P.WARNINGS_MANAGE,
            P.LATE_FEES_MANAGE,
            P.REMINDERS_MANAGE,
        }
    ),
    Role.CUSTOMER_SERVICE: frozenset(
        {
            P.PAYER_LOOKUP,
            P.ACCOUNTS_READ,
            P.PAYMENTS_READ,
            P.RECEIPT_RESEND,
            P.MANDATE_CANCEL,
            P.REMINDERS_MANAGE,  # a payer on the phone: "remind me by SMS, a week before"
            P.OUTLETS_READ,  # a payer's question about the shop that took their money
        }
    ),
    Role.AUDITOR: READ_ALL,
}


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is signed in, with what they may do and see."""

    id: int
    username: str
    display_name: str
    role: Role
    # None: every utility; else the utility and its branches (utility staff)
    billers: frozenset[int] | None

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def may_see(self, biller_id: int | None) -> bool:
        """Whether an object of this utility is this person's to see (``None``: an object
        of no one utility, such as a channel, which scoped staff never see)."""
        if self.billers is None:
            return True
        return biller_id is not None and biller_id in self.billers

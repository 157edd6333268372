"""The console's people. ``staff_users`` is small and read with every console request
(a reference table); sessions and approvals are the coordinator's own (local)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from utilipay.db import metadata
from utilipay.security.sealing import SealedText

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("username", Text, nullable=False, unique=True),  # lower case, see service
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id, never the password
    Column("role", Text, nullable=False),
    # utility staff see this utility and its branches (billers.parent_id), nothing else
    Column("biller_id", Integer, ForeignKey("billers.id")),
    Column("totp_secret", SealedText),  # sealed at rest; set once the user confirmed a code
    Column("totp_last_step", BigInteger),  # a code's time step is accepted once (replay)
    Column("failed_sign_ins", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    CheckConstraint(
        "role IN ('platform_admin', 'operations', 'utility_staff', 'customer_service', 'auditor')",
        name="staff_users_role",
    ),
    CheckConstraint("(role = 'utility_staff') = (biller_id IS NOT NULL)", name="staff_users_scope"),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("token_sha256", LargeBinary, nullable=False, unique=True),  # the cookie's hash
    Column("user_id", Integer, ForeignKey("staff_users.id"), nullable=False),
    Column("csrf_token", Text, nullable=False),  # every form of this session carries it
    Column("second_factor_due", Boolean, nullable=False),  # password right, TOTP not yet
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)

staff_approvals = Table(
    "staff_approvals",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("biller_id", Integer, ForeignKey("billers.id")),  # whose change, for the scope
    Column("subject", Text, nullable=False),  # what it changes, for people
    Column("payload", JSONB, nullable=False),  # what applying it needs
    Column("reason", Text, nullable=False),
    Column("requested_by", Integer, ForeignKey("staff_users.id"), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("decided_by", Integer, ForeignKey("staff_users.id")),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    CheckConstraint(
        "status IN ('PENDING', 'APPROVED', 'REJECTED', 'WITHDRAWN')", name="staff_approvals_status"
    ),
    # four eyes, in the database: whoever asked cannot be whoever approves
    CheckConstraint(
        "status <> 'APPROVED' OR decided_by <> requested_by", name="staff_approvals_four_eyes"
    ),
    CheckConstraint("(status = 'PENDING') = (decided_at IS NULL)", name="staff_approvals_decided"),
)

# Long work a person started in the console (an import, a billing run, a recon run): its
# progress, so the page that started it can show it without waiting on it.
staff_jobs = Table(
    "staff_jobs",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("biller_id", Integer, ForeignKey("billers.id")),  # whose work, for the scope
    Column("title", Text, nullable=False),
    Column("started_by", Integer, ForeignKey("staff_users.id"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("done", BigInteger, nullable=False),
    Column("total", BigInteger),  # None: not known (yet)
    Column("outcome", Text, nullable=False),  # what it found or why it failed, for people
    Column("result", JSONB),  # what the page shows when it is done
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'FAILED')", name="staff_jobs_status"),
    CheckConstraint("(status = 'RUNNING') = (finished_at IS NULL)", name="staff_jobs_finished"),
)

"""The notifications' tables: a message per event and recipient, its attempts, the
bill reminders and overdue notices announced, the reminders chosen for an account and
a utility's defaults (with its overdue schedule).

Published to other areas (views of migration 0024; nothing else of these tables is theirs):

- ``notify_pending``: the messages still pending, for metrics.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from utilipay.db import metadata

notifications = Table(
    "notifications",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("template", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("recipient_kind", Text, nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id")),
    Column("address", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("subject", JSONB, nullable=False),
    Column("text", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("notification_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("provider", Text, nullable=False),
    Column("destination", Text, nullable=False),
    Column("acknowledged", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    ForeignKeyConstraint(
        ["biller_id", "notification_id"],
        ["notifications.biller_id", "notifications.id"],
    ),
)

bill_reminders = Table(
    "bill_reminders",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("days_before", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["biller_id", "bill_no"], ["bills.biller_id", "bills.bill_no"]),
)

overdue_notices = Table(
    "overdue_notices",
    metadata,
    Column("biller_id", Integer, primary_key=True),
    Column("bill_no", Text, primary_key=True),
    Column("days_after", Integer, primary_key=True),  # the schedule's day, after the due date
    Column("created_at", DateTime(timezone=True), nullable=False),
    # no foreign key to bills: the pass reads the bill in the statement that writes this
)

# An account's own reminder choice (bindings.reminders.ReminderChoice); NULL: the utility's.
reminder_choices = Table(
    "reminder_choices",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("account_no", Text, primary_key=True),
    Column("kinds", ARRAY(Text)),
    Column("days_before", Integer),
    Column("means", ARRAY(Text)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A utility's default choice (NULL: the hub's) and the days after the due date on which
# its overdue notices go.
reminder_defaults = Table(
    "reminder_defaults",
    metadata,
    Column("biller_id", Integer, ForeignKey("billers.id"), primary_key=True),
    Column("kinds", ARRAY(Text)),
    Column("days_before", Integer),
    Column("means", ARRAY(Text)),
    Column("overdue_days", ARRAY(Integer), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

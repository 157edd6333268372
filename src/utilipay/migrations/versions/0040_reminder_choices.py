"""Reminders the payer chooses, and overdue notices (逾期提醒).

- ``bindings`` gain the binding's own choice (``remind_kinds``, ``remind_days_before``,
  ``remind_means``; NULL: the account's, the utility's or the hub's), and ``bindings_live``
  shows them; a partial index finds the bindings that chose their own number of days.
- ``reminder_choices``: an account's choice (each field NULL: the utility's default).
- ``reminder_defaults``: a utility's default choice and its overdue schedule (days after
  the due date).
- ``overdue_notices``: which (bill, schedule day) was announced, so each is once.
- ``bills`` gain a partial index of the unpaid bills by due date: the overdue pass reads a
  few days' unpaid bills of a utility among its year of paid ones. Its price: paying a
  bill changes ``status``, a column of the index's predicate, so that update is no longer
  HOT (0001 kept ``bills``' indexes off ``status`` for that); without it the pass would
  read every bill due on those days, paid or not (ten times the rows at a 90 % rate).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

KINDS = "ARRAY['issued', 'due_soon', 'overdue']"
MEANS = "ARRAY['channel', 'sms', 'email']"
DAYS = "BETWEEN 0 AND 30"

UP = f"""
ALTER TABLE bindings
    ADD COLUMN remind_kinds text[] CHECK (remind_kinds <@ {KINDS}),
    ADD COLUMN remind_days_before integer CHECK (remind_days_before {DAYS}),
    ADD COLUMN remind_means text[] CHECK (remind_means <@ {MEANS});
CREATE INDEX bindings_own_reminder_days ON bindings (biller_id, remind_days_before)
    WHERE remind_days_before IS NOT NULL AND deleted_at IS NULL;
CREATE OR REPLACE VIEW bindings_live AS
    SELECT biller_id, id, channel_id, payer, account_no, holder, created_at,
           remind_kinds, remind_days_before, remind_means
      FROM bindings WHERE deleted_at IS NULL;

CREATE TABLE reminder_choices (
    biller_id integer NOT NULL REFERENCES billers (id),
    account_no text NOT NULL,
    kinds text[] CHECK (kinds <@ {KINDS}),
    days_before integer CHECK (days_before {DAYS}),
    means text[] CHECK (means <@ {MEANS}),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, account_no)
);

CREATE TABLE reminder_defaults (
    biller_id integer NOT NULL REFERENCES billers (id),
    kinds text[] CHECK (kinds <@ {KINDS}),
    days_before integer CHECK (days_before {DAYS}),
    means text[] CHECK (means <@ {MEANS}),
    overdue_days integer[] NOT NULL DEFAULT '{{}}'
        CHECK (0 < ALL (overdue_days) AND 366 > ALL (overdue_days)),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id)
);

CREATE TABLE overdue_notices (
    biller_id integer NOT NULL,
    bill_no text NOT NULL,
    days_after integer NOT NULL CHECK (days_after > 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, bill_no, days_after)
    -- no foreign key to bills: the pass writes a notice only for a bill it reads in the
    -- same statement, and checking a million of them again costs a third of the pass
);

CREATE INDEX bills_unpaid_by_due_date ON bills (biller_id, due_date) WHERE status = 'UNPAID';
"""  # noqa: S608 - the module's own constants, never input

DOWN = """
DROP INDEX bills_unpaid_by_due_date;
DROP TABLE overdue_notices, reminder_defaults, reminder_choices;
DROP VIEW bindings_live;
CREATE VIEW bindings_live AS
    SELECT biller_id, id, channel_id, payer, account_no, holder, created_at
      FROM bindings WHERE deleted_at IS NULL;
DROP INDEX bindings_own_reminder_days;
ALTER TABLE bindings
    DROP COLUMN remind_kinds, DROP COLUMN remind_days_before, DROP COLUMN remind_means;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)

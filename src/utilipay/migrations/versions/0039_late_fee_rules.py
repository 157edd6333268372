"""Late fees (违约金) computed, not copied (issue 13): each hosted utility's rules, kept as
effective-dated data, and the waivers granted on a bill. The fee itself is a function
(``billing/sql/late_fees.sql``, ``bill_late_fee``), not a column: the ``late_fee`` of
``bills`` stays what the bills file says a previous system already assessed.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

UP = """
-- vouchers/sql/credit.sql: the bills a voucher covers now take the day whose late fee is due
DROP FUNCTION IF EXISTS vouchers_bills_covered(integer, text, bigint);

-- A rule is in force from effective_from to effective_to (inclusive; NULL: open-ended),
-- for one customer class or (NULL) every class. Two rules of a utility and class in force
-- on the same day are refused by the service, which names both (billing/latefee_service.py).
CREATE TABLE late_fee_rules (
    biller_id integer NOT NULL REFERENCES billers (id),
    rule_id integer GENERATED ALWAYS AS IDENTITY,
    customer_class text CHECK (customer_class ~ '^[a-z][a-z0-9_]{1,31}$'),
    effective_from date NOT NULL,
    effective_to date CHECK (effective_to >= effective_from),
    daily_per_mille numeric(8, 4) NOT NULL
        CHECK (daily_per_mille > 0 AND daily_per_mille <= 10),
    grace_days integer NOT NULL CHECK (grace_days BETWEEN 0 AND 366),
    basis text NOT NULL CHECK (basis IN ('calendar', 'working')),
    cap_fen bigint CHECK (cap_fen > 0),
    cap_percent numeric(7, 4) CHECK (cap_percent > 0 AND cap_percent <= 100),
    actor text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, rule_id)
);

-- What an authorised person forgave of a bill's late fee, with why; never more than the
-- fee on the day (checked by the service).
CREATE TABLE late_fee_waivers (
    biller_id integer NOT NULL,
    bill_no text NOT NULL,
    waiver_id integer GENERATED ALWAYS AS IDENTITY,
    amount bigint NOT NULL CHECK (amount > 0),
    business_date date NOT NULL,
    actor text NOT NULL,
    reason text NOT NULL CHECK (reason <> ''),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (biller_id, bill_no, waiver_id),
    FOREIGN KEY (biller_id, bill_no) REFERENCES bills
);
"""

DOWN = """
DROP FUNCTION IF EXISTS bill_late_fee_of(integer, text, date, bigint, date);
DROP FUNCTION IF EXISTS bill_late_fee(integer, text, date);
DROP FUNCTION IF EXISTS late_fee_accrued(integer, text, bigint, date, date);
DROP FUNCTION IF EXISTS late_fee_rule_for(integer, text, date);
DROP FUNCTION IF EXISTS late_fee_days(text, integer, date, date);
DROP FUNCTION IF EXISTS calendar_working_days(date, date);
DROP TABLE late_fee_waivers, late_fee_rules;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)

"""Voids at the terminal (channel-api.md §11): the statuses after SUCCEEDED, who voided a
payment, why and when, the exceptions queue's stuck voids, and the reconciled days a void
may no longer touch.

- ``payments.status`` gains ``VOID_PENDING`` (a remote utility has not answered the refund
  yet: the resolver asks again, as it does for unknown write-offs) and ``VOIDED``.
- ``outlet_voids``: each void asked for at a terminal (outlet, operator, reason, when),
  PENDING until the utility answers, then VOIDED or REFUSED (the utility's reason kept).
  At most one that is not REFUSED per payment.
- ``payment_exceptions.kind`` gains ``VOID``: a void whose refund stayed unanswered past
  the utility's deadline, for a person.
- ``recon_reconciled_days``: recon publishes which business days it has matched (a
  completed run), for the void's "only before the day is reconciled".

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE payments DROP CONSTRAINT payments_status_check,
    ADD CONSTRAINT payments_status_check
        CHECK (status IN ('PROCESSING', 'SUCCEEDED', 'FAILED', 'VOID_PENDING', 'VOIDED')),
    -- a voided payment keeps the receipt of its write-off (payments_check of 0001)
    DROP CONSTRAINT payments_check,
    ADD CONSTRAINT payments_receipt_once_written_off
        CHECK ((status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED')) = (receipt_no IS NOT NULL)),
    DROP CONSTRAINT payments_resolution_check,
    ADD CONSTRAINT payments_resolution_check
        CHECK (resolution IN ('CHARGING', 'CONFIRMING', 'REVERSING', 'EXCEPTION', 'VOIDING')),
    DROP CONSTRAINT payments_resolution_only_while_processing,
    ADD CONSTRAINT payments_resolution_only_while_processing
        CHECK ((status IN ('PROCESSING', 'VOID_PENDING')) = (resolution IS NOT NULL));
-- the resolver's due voids, as payments_due holds the due write-offs
CREATE INDEX payments_void_due ON payments (next_check_at) WHERE status = 'VOID_PENDING';

ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_kind_check,
    ADD CONSTRAINT payment_exceptions_kind_check
        CHECK (kind IN ('REVERSAL', 'VOID', 'CHANNEL_ONLY', 'HUB_ONLY', 'AMOUNT_MISMATCH',
                        'STATUS_MISMATCH', 'DUPLICATE')),
    DROP CONSTRAINT payment_exceptions_from_recon,
    ADD CONSTRAINT payment_exceptions_from_recon
        CHECK ((kind IN ('REVERSAL', 'VOID')) = (run_id IS NULL)),
    DROP CONSTRAINT payment_exceptions_reversal_payment,
    ADD CONSTRAINT payment_exceptions_reversal_payment
        CHECK (kind NOT IN ('REVERSAL', 'VOID')
               OR (biller_id IS NOT NULL AND payment_id IS NOT NULL));

CREATE TABLE outlet_voids (
    biller_id integer NOT NULL,
    payment_id text NOT NULL,
    requested_at timestamptz NOT NULL,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    operator_code text NOT NULL,
    reason text NOT NULL CONSTRAINT outlet_voids_reason CHECK (length(reason) <= 200),
    tender text NOT NULL,
    amount bigint NOT NULL,
    status text NOT NULL CONSTRAINT outlet_voids_status CHECK (
        status IN ('PENDING', 'VOIDED', 'REFUSED')),
    finished_at timestamptz,
    refusal text,  -- the utility's reason, when it refused
    PRIMARY KEY (biller_id, payment_id, requested_at),
    FOREIGN KEY (biller_id, payment_id) REFERENCES outlet_payments (biller_id, payment_id),
    FOREIGN KEY (outlet_id, operator_code) REFERENCES outlet_operators (outlet_id, code),
    CONSTRAINT outlet_voids_finished CHECK ((status = 'PENDING') = (finished_at IS NULL))
);
-- a payment is voided once: a refused void may be asked again, nothing else
CREATE UNIQUE INDEX outlet_voids_one_standing ON outlet_voids (biller_id, payment_id)
    WHERE status <> 'REFUSED';
CREATE INDEX outlet_voids_of_operator ON outlet_voids (outlet_id, operator_code, finished_at);

CREATE VIEW recon_reconciled_days AS
    SELECT business_date, channel_code, biller_code, finished_at FROM recon_runs;
"""

DOWN = """
DROP FUNCTION IF EXISTS ledger_post_payment_void(integer, text, timestamptz, integer, integer,
                                                 bigint),
    billing_undo_write_off(integer, text);

DROP VIEW recon_reconciled_days;
DROP TABLE outlet_voids;
ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_reversal_payment,
    ADD CONSTRAINT payment_exceptions_reversal_payment
        CHECK (kind <> 'REVERSAL' OR (biller_id IS NOT NULL AND payment_id IS NOT NULL)),
    DROP CONSTRAINT payment_exceptions_from_recon,
    ADD CONSTRAINT payment_exceptions_from_recon CHECK ((kind = 'REVERSAL') = (run_id IS NULL)),
    DROP CONSTRAINT payment_exceptions_kind_check,
    ADD CONSTRAINT payment_exceptions_kind_check
        CHECK (kind IN ('REVERSAL', 'CHANNEL_ONLY', 'HUB_ONLY', 'AMOUNT_MISMATCH',
                        'STATUS_MISMATCH', 'DUPLICATE'));
DROP INDEX payments_void_due;
ALTER TABLE payments DROP CONSTRAINT payments_resolution_only_while_processing,
    ADD CONSTRAINT payments_resolution_only_while_processing
        CHECK ((status = 'PROCESSING') = (resolution IS NOT NULL)),
    DROP CONSTRAINT payments_resolution_check,
    ADD CONSTRAINT payments_resolution_check
        CHECK (resolution IN ('CHARGING', 'CONFIRMING', 'REVERSING', 'EXCEPTION')),
    DROP CONSTRAINT payments_receipt_once_written_off,
    ADD CONSTRAINT payments_check CHECK ((status = 'SUCCEEDED') = (receipt_no IS NOT NULL)),
    DROP CONSTRAINT payments_status_check,
    ADD CONSTRAINT payments_status_check
        CHECK (status IN ('PROCESSING', 'SUCCEEDED', 'FAILED'));
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
    # the guard as it was: nothing after SUCCEEDED (its file is applied again on upgrade)
    guard = import_module("utilipay.migrations.versions.0001_core").PAYMENT_GUARD
    op.execute(guard.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))

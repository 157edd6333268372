"""Corrections applied one at a time with write-ahead claims; one work queue for people.

- ``recon_corrections``: a correction that calls the utility is claimed first
  (``IN_FLIGHT``, committed, with who claimed it until when) and its outcome recorded
  after the call, in transactions of their own: no transaction waits on the network.
  ``attempts`` counts the claims and fences them (an outcome is recorded only by the
  claim that is still current); ``last_attempt`` says what the last one found. A claim
  whose holder died is taken over once it has expired.
- ``payment_exceptions`` becomes the one queue of work for people: besides payments
  whose reversal could not be completed (``REVERSAL``), every correction a run leaves
  for a person, by the class of its break, with the channel's order when the hub has
  no payment for it, the evidence, and the outcomes that fit it (``REFUNDED``,
  ``BOOKED_LATE`` with the payment that booked it, ``NO_ACTION``). The payment
  exceptions recon opened before are given their kind and evidence.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

CORRECTIONS = """
ALTER TABLE recon_corrections DROP CONSTRAINT recon_corrections_status_check,
    ADD CONSTRAINT recon_corrections_status_check
        CHECK (status IN ('PROPOSED', 'IN_FLIGHT', 'APPLIED')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN claimed_by text,
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN last_attempt text,
    ADD CONSTRAINT recon_corrections_claimed
        CHECK (status <> 'IN_FLIGHT' OR (claimed_by IS NOT NULL AND claimed_until IS NOT NULL));
DROP INDEX recon_corrections_proposed;
CREATE INDEX recon_corrections_open ON recon_corrections (run_id) WHERE status <> 'APPLIED';
"""

QUEUE = """
ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_pkey,
    ADD PRIMARY KEY (id),
    ALTER COLUMN biller_id DROP NOT NULL,
    ALTER COLUMN payment_id DROP NOT NULL,
    ADD COLUMN kind text NOT NULL DEFAULT 'REVERSAL'
        CHECK (kind IN ('REVERSAL', 'CHANNEL_ONLY', 'HUB_ONLY', 'AMOUNT_MISMATCH',
                        'STATUS_MISMATCH', 'DUPLICATE')),
    ADD COLUMN channel_code text,
    ADD COLUMN order_id text,
    ADD COLUMN run_id bigint,
    ADD COLUMN item_no bigint,
    ADD COLUMN evidence jsonb,
    ADD COLUMN reference text,
    ADD FOREIGN KEY (run_id, item_no) REFERENCES recon_corrections,
    ADD CONSTRAINT payment_exceptions_from_recon CHECK ((kind = 'REVERSAL') = (run_id IS NULL)),
    ADD CONSTRAINT payment_exceptions_reversal_payment
        CHECK (kind <> 'REVERSAL' OR (biller_id IS NOT NULL AND payment_id IS NOT NULL)),
    ADD CONSTRAINT payment_exceptions_subject
        CHECK (payment_id IS NOT NULL OR (channel_code IS NOT NULL AND order_id IS NOT NULL)),
    DROP CONSTRAINT payment_exceptions_resolution_check,
    ADD CONSTRAINT payment_exceptions_resolution_check
        CHECK (resolution IN ('WRITTEN_OFF', 'NOT_WRITTEN_OFF', 'RETRY', 'REFUNDED',
                              'BOOKED_LATE', 'NO_ACTION'));
-- one open item per channel order the hub has no payment for (per payment: the index of 0004)
CREATE UNIQUE INDEX payment_exceptions_one_open_order ON payment_exceptions (channel_code, order_id)
    WHERE resolved_at IS NULL AND payment_id IS NULL;
CREATE INDEX payment_exceptions_by_order ON payment_exceptions (channel_code, order_id);
-- a payment books one order late, once
CREATE UNIQUE INDEX payment_exceptions_booked_once ON payment_exceptions (reference)
    WHERE resolution = 'BOOKED_LATE';

UPDATE payment_exceptions e
   SET kind = c.class, run_id = c.run_id, item_no = c.item_no, channel_code = c.channel_code,
       order_id = c.order_id, evidence = c.evidence
  FROM recon_corrections c
 WHERE e.reason ~ '^reconciliation run [0-9]+: '
   AND c.run_id = substring(e.reason FROM '^reconciliation run ([0-9]+): ')::bigint
   AND c.biller_id = e.biller_id AND c.payment_id = e.payment_id AND c.action = 'EXCEPTION';
"""


def upgrade() -> None:
    op.execute(CORRECTIONS)
    op.execute(QUEUE)


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM payment_exceptions
         WHERE payment_id IS NULL OR resolution IN ('REFUNDED', 'BOOKED_LATE', 'NO_ACTION');
        DROP INDEX payment_exceptions_booked_once, payment_exceptions_by_order,
            payment_exceptions_one_open_order;
        ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_resolution_check,
            ADD CONSTRAINT payment_exceptions_resolution_check
                CHECK (resolution IN ('WRITTEN_OFF', 'NOT_WRITTEN_OFF', 'RETRY')),
            DROP CONSTRAINT payment_exceptions_subject,
            DROP CONSTRAINT payment_exceptions_reversal_payment,
            DROP CONSTRAINT payment_exceptions_from_recon,
            DROP COLUMN reference, DROP COLUMN evidence, DROP COLUMN item_no,
            DROP COLUMN run_id, DROP COLUMN order_id, DROP COLUMN channel_code,
            DROP COLUMN kind,
            ALTER COLUMN payment_id SET NOT NULL,
            ALTER COLUMN biller_id SET NOT NULL,
            DROP CONSTRAINT payment_exceptions_pkey,
            ADD PRIMARY KEY (biller_id, id);
        UPDATE recon_corrections SET status = 'PROPOSED' WHERE status = 'IN_FLIGHT';
        DROP INDEX recon_corrections_open;
        CREATE INDEX recon_corrections_proposed ON recon_corrections (run_id)
            WHERE status = 'PROPOSED';
        ALTER TABLE recon_corrections DROP CONSTRAINT recon_corrections_claimed,
            DROP COLUMN last_attempt, DROP COLUMN claimed_until, DROP COLUMN claimed_by,
            DROP COLUMN attempts,
            DROP CONSTRAINT recon_corrections_status_check,
            ADD CONSTRAINT recon_corrections_status_check
                CHECK (status IN ('PROPOSED', 'APPLIED'));
        """
    )

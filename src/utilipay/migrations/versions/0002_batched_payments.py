"""Hosted payments in batches: many payments, one round trip and one commit.

Concurrent payment requests of a server process are grouped into one call
(``payments/hosted.py``); each item runs ``pay_hosted`` as before and gets its
own outcome. Items arrive sorted by (biller, account), and every payment locks
only the bills of its own account, so concurrent batches take locks in one
global order and cannot deadlock each other.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Bill numbers are [A-Za-z0-9_.-], so a comma joins an item's list safely;
# NULL means "every outstanding bill" (channel-api.md §4).
PAY_HOSTED_BATCH = """
CREATE FUNCTION pay_hosted_batch(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_amounts bigint[],
    p_bill_nos text[], p_payers text[], p_receivable_accounts integer[],
    p_payable_accounts integer[], p_now timestamptz, p_receipt_prefix text
) RETURNS TABLE (item integer, outcome text, detail text, payment payments)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    FOR i IN 1 .. cardinality(p_ids) LOOP
        RETURN QUERY
            SELECT i, r.outcome, r.detail, r.payment
              FROM pay_hosted(p_ids[i], p_channel_ids[i], p_nonces[i], p_order_ids[i],
                              p_request_hashes[i], p_biller_ids[i], p_account_nos[i], p_amounts[i],
                              string_to_array(p_bill_nos[i], ','), p_payers[i], p_now,
                              p_receipt_prefix, p_receivable_accounts[i], p_payable_accounts[i]) r;
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(PAY_HOSTED_BATCH)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION pay_hosted_batch(text[], integer[], text[], text[], bytea[], integer[],"
        " text[], bigint[], text[], text[], integer[], integer[], timestamptz, text)"
    )

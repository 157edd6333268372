"""Payments from terminals (channel-api.md §11): the store-and-forward payments a collector
must give back (``outlet_refunds_due``), and the view that tells the ledger's checks which
payments were booked against an outlet's float instead of their channel's receivable.

The functions that take, hold and release the float and the triggers that tell every
server process a terminal, outlet or operator changed live in ``outlets/sql/``.
``pay_hosted``, ``pay_hosted_batch`` and ``prepaid_top_up`` gain the terminal payment
(a last argument): their old signatures are dropped here, so that the files define each
name once. Downgrade drops the new ones and gives back the old as revision 0024 had them
(the files of the older code define them again on its next upgrade).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

UP = """
-- An agent channel has many outlets, each with its own float account (the outlet row names
-- it): "one account per kind and owner" holds for every kind but these and prepaid balances.
DROP INDEX ledger_accounts_owner;
CREATE UNIQUE INDEX ledger_accounts_owner
    ON ledger_accounts (kind, coalesce(biller_id, 0), coalesce(channel_id, 0), currency)
    WHERE kind NOT IN ('PREPAID_BALANCE', 'OUTLET_FLOAT');
-- A payment collected out of coverage (store and forward) and refused when it reached the
-- hub because its bills were paid meanwhile: the collector holds the payer's cash and must
-- give it back (or apply it again). One row per order of the outlet's channel.
CREATE TABLE outlet_refunds_due (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outlet_id integer NOT NULL REFERENCES outlets (id),
    channel_id integer NOT NULL,
    order_id text NOT NULL,
    terminal_id text NOT NULL REFERENCES terminals (id),
    operator_code text,
    biller_id integer NOT NULL,
    account_no text NOT NULL,
    bill_nos text[] NOT NULL,
    amount bigint NOT NULL CONSTRAINT outlet_refunds_due_amount CHECK (amount > 0),
    tender text NOT NULL,
    reason text NOT NULL,  -- the refusal's code, BILL_ALREADY_PAID
    detail text NOT NULL,
    collected_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    UNIQUE (channel_id, order_id)
);
CREATE INDEX outlet_refunds_due_of_outlet ON outlet_refunds_due (outlet_id, received_at);

-- Published to the ledger's checks: the payments booked against an outlet's float.
CREATE VIEW outlet_payment_accounts AS
    SELECT op.biller_id, op.payment_id, op.outlet_id, o.float_account
      FROM outlet_payments op JOIN outlets o ON o.id = op.outlet_id;
"""


OLD_SIGNATURES = (
    "pay_hosted_batch(text[], integer[], text[], text[], bytea[], integer[], text[], bigint[],"
    " text[], text[], integer[], integer[], timestamptz, text)",
    "pay_hosted(text, integer, text, text, bytea, integer, text, bigint, text[], text,"
    " timestamptz, text, integer, integer)",
    "prepaid_top_up(text, integer, text, bytea, integer, text, bigint, text, timestamptz, text,"
    " integer)",
)
NEW_SIGNATURES = (
    *tuple(s.replace(")", ", jsonb)") for s in OLD_SIGNATURES[1:]),
    "pay_hosted_batch(text[], integer[], text[], text[], bytea[], integer[], text[], bigint[],"
    " text[], text[], integer[], integer[], timestamptz, text, text[])",
)
ADDED_FUNCTIONS = (
    "outlet_floats_lock(integer[])",
    "outlet_float_take(integer, bigint, integer, timestamptz)",
    "outlet_payment_taken(jsonb, integer, text, bigint, timestamptz)",
    "outlet_float_reserve(integer, bigint, text, integer, timestamptz)",
    "outlet_payment_record(jsonb, integer, text, bigint, text, timestamptz)",
    "outlet_payment_settle(integer, text, text, timestamptz)",
    "outlet_low_float(integer, integer, bigint, timestamptz)",
    "outlet_refund_due(jsonb, integer, text, integer, text, text[], bigint, text, text,"
    " timestamptz)",
)
VERSIONS = "utilipay.migrations.versions."


def upgrade() -> None:
    op.execute(UP)
    op.execute(f"DROP FUNCTION {', '.join(OLD_SIGNATURES)}")


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER terminals_announced ON terminals;"
        " DROP TRIGGER outlet_operators_announced ON outlet_operators;"
        " DROP TRIGGER outlets_announced ON outlets;"
        " DROP FUNCTION outlets_announce_change();"
        f" DROP FUNCTION {', '.join(NEW_SIGNATURES + ADDED_FUNCTIONS)};"
        " DROP VIEW outlet_payment_accounts; DROP TABLE outlet_refunds_due;"
        " DROP INDEX ledger_accounts_owner;"
        " CREATE UNIQUE INDEX ledger_accounts_owner ON ledger_accounts"
        "  (kind, coalesce(biller_id, 0), coalesce(channel_id, 0), currency)"
        "  WHERE kind <> 'PREPAID_BALANCE'"
    )
    keys = import_module(VERSIONS + "0022_distribution_keys")
    for creating in keys.CREATING:  # as revision 0025's downgrade gives them back
        op.execute(keys._claiming_orders(keys._as_defined(*creating)))
    batch = import_module(VERSIONS + "0002_batched_payments").PAY_HOSTED_BATCH
    op.execute(batch.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))

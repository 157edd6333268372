"""Keys for a distributed PostgreSQL: every utility's table leads each of its keys with biller_id.

``utilipay.db.distribution`` classes every table (distributed by ``biller_id``, reference,
local) and ``docs/distribution.md`` says why. This revision fixes the distributed tables
whose keys did not lead with ``biller_id``:

- ``payments``: the channel's order id is its idempotency key across every biller
  (channel-api.md §4), a rule no key led by ``biller_id`` can hold. It moves to
  ``payment_orders`` (local), keyed by (channel, order id), naming the payment: every
  statement that creates a payment claims its order there first, in the same
  transaction, and finds the payment of an order through it (``order_payment``).
  ``pay_hosted`` and ``prepaid_top_up`` are redefined to do so.
- hub-issued ids (payments, bindings, mandates, debits, notifications, meter commands)
  were unique alone besides their (biller_id, id) key; they keep a plain index for the
  lookups by id. Their uniqueness across billers is the id's own: a ULID (48 bits of
  time, 80 random) or a sequence.
- ``settlement_lines``: "a branch's day is settled once, to one payee" crossed payees; it
  moves to ``settlement_branch_days``, distributed by the branch.
- ``payouts.reference``: unique per payee; across payees it is so by construction
  (``STL-<payee code>-<day>``, and biller codes are unique).
- ``prepaid_accounts``: its balance account is unique per biller, and its foreign key
  now names the biller too, so a balance account of another biller cannot be shared:
  unique per biller is unique everywhere.
- ``bill_claims`` had no primary key; it gets (biller_id, payment_id, bill_no), which
  also serves the lookups by payment (a logical-replication shard move needs one).

On a database with data the new tables are filled from the rows they index. Foreign keys
from ``payment_orders`` and ``settlement_branch_days`` to the rows they name cannot exist
on a distributed deployment (local or non-colocated); ``utilipay check`` proves them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23
"""

from __future__ import annotations

import importlib
import re

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# hub-issued ids that were unique alone: table -> the index that made them so
UNIQUE_IDS = {
    "payments": "payments_id",
    "bindings": "bindings_id",
    "mandates": "mandates_id",
    "debits": "debits_id",
    "notifications": "notifications_id",
    "meter_commands": "meter_commands_id",
}

KEYS = """
-- No foreign keys: the payment's own check its biller and channel (one check less per
-- payment), and a distributed deployment allows none from a local table to a distributed
-- one; utilipay check proves that each payment and its order row name each other.
CREATE TABLE payment_orders (
    channel_id integer NOT NULL,
    order_id text NOT NULL,
    biller_id integer NOT NULL,
    payment_id text NOT NULL,
    PRIMARY KEY (channel_id, order_id)
);
INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
SELECT channel_id, order_id, biller_id, id FROM payments;
DROP INDEX payments_order;

CREATE TABLE settlement_branch_days (
    biller_id integer NOT NULL REFERENCES billers (id),  -- the branch whose day it is
    business_date date NOT NULL,
    payee_id integer NOT NULL REFERENCES billers (id),  -- whose settlement has its line
    PRIMARY KEY (biller_id, business_date)
);
INSERT INTO settlement_branch_days (biller_id, business_date, payee_id)
SELECT branch_id, business_date, biller_id FROM settlement_lines;
DROP INDEX settlement_lines_branch_day;

ALTER TABLE payouts DROP CONSTRAINT payouts_reference_key, ADD UNIQUE (biller_id, reference);

ALTER TABLE ledger_accounts ADD UNIQUE (biller_id, id);
ALTER TABLE prepaid_accounts DROP CONSTRAINT prepaid_accounts_ledger_account_id_fkey,
    ADD FOREIGN KEY (biller_id, ledger_account_id) REFERENCES ledger_accounts (biller_id, id);
DROP INDEX prepaid_accounts_ledger;
CREATE UNIQUE INDEX prepaid_accounts_ledger ON prepaid_accounts (biller_id, ledger_account_id);

ALTER TABLE bill_claims ADD PRIMARY KEY (biller_id, payment_id, bill_no);
DROP INDEX bill_claims_by_payment;
"""

KEYS_UNDONE = """
DROP INDEX prepaid_accounts_ledger;
CREATE UNIQUE INDEX prepaid_accounts_ledger ON prepaid_accounts (ledger_account_id);
ALTER TABLE prepaid_accounts DROP CONSTRAINT prepaid_accounts_biller_id_ledger_account_id_fkey,
    ADD FOREIGN KEY (ledger_account_id) REFERENCES ledger_accounts (id);
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_biller_id_id_key;

ALTER TABLE payouts DROP CONSTRAINT payouts_biller_id_reference_key, ADD UNIQUE (reference);

CREATE UNIQUE INDEX settlement_lines_branch_day ON settlement_lines (branch_id, business_date);
DROP TABLE settlement_branch_days;

CREATE UNIQUE INDEX payments_order ON payments (channel_id, order_id);
DROP TABLE payment_orders;

CREATE INDEX bill_claims_by_payment ON bill_claims (biller_id, payment_id);
ALTER TABLE bill_claims DROP CONSTRAINT bill_claims_pkey;
"""

# The payment of a channel's order, wherever its biller is.
ORDER_PAYMENT = """
CREATE FUNCTION order_payment(p_channel_id integer, p_order_id text) RETURNS SETOF payments
LANGUAGE sql STABLE AS $$
    SELECT p.* FROM payment_orders o
      JOIN payments p ON p.biller_id = o.biller_id AND p.id = o.payment_id
     WHERE o.channel_id = p_channel_id AND o.order_id = p_order_id
$$;
"""

# Where a function of 0001 or 0011 creates a payment, it claims the order first (instead of
# ON CONFLICT on the payments index that is gone); a lost claim is a repeat of the order.
CLAIM = """
    INSERT INTO payment_orders (channel_id, order_id, biller_id, payment_id)
    VALUES (p_channel_id, p_order_id, p_biller_id, p_id)
    ON CONFLICT (channel_id, order_id) DO NOTHING;
    IF NOT FOUND THEN  -- a concurrent twin took the order id
        SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
        RETURN QUERY SELECT * FROM pay_hosted_repeat(v_payment, p_request_hash);
        RETURN;
    END IF;"""
ORDER_LOOKUP = r"FROM payments\s+WHERE channel_id = p_channel_id AND order_id = p_order_id"
INSERT = r"\n    INSERT INTO payments \("
ON_CONFLICT = (
    r"\n    ON CONFLICT \(channel_id, order_id\) DO NOTHING(\n    RETURNING \* INTO v_payment;)"
    r"\n    IF NOT FOUND THEN.*?END IF;"
)
# the functions that create a payment: (revision, its SQL, the function)
CREATING = (("0001_core", "PAY_HOSTED", "pay_hosted"), ("0011_prepaid", "TOP_UP", "prepaid_top_up"))


def _as_defined(revision_module: str, sql: str, function: str) -> str:
    """A function as an earlier revision defined it, to define it so again."""
    module = importlib.import_module(f"utilipay.migrations.versions.{revision_module}")
    found = re.search(rf"CREATE FUNCTION {function}\(.*?END \$\$;", getattr(module, sql), re.S)
    if found is None:
        raise LookupError(f"{revision_module}.{sql} defines no function {function}")
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _claiming_orders(definition: str) -> str:
    """The function with its order found through payment_orders and claimed there."""
    found, lookups = re.subn(
        ORDER_LOOKUP, "FROM order_payment(p_channel_id, p_order_id)", definition
    )
    claimed, inserts = re.subn(INSERT, lambda m: CLAIM + m.group(0), found)
    done, conflicts = re.subn(ON_CONFLICT, r"\1", claimed, flags=re.S)
    if not (lookups and inserts == conflicts == 1):
        raise ValueError(f"not a function that creates one payment: {definition[:60]}")
    return done


def upgrade() -> None:
    for table, index in UNIQUE_IDS.items():
        op.execute(f"DROP INDEX {index}; CREATE INDEX {table}_by_id ON {table} (id)")
    op.execute(KEYS)
    op.execute(ORDER_PAYMENT)
    for creating in CREATING:
        op.execute(_claiming_orders(_as_defined(*creating)))


def downgrade() -> None:
    for creating in CREATING:
        op.execute(_as_defined(*creating))
    op.execute("DROP FUNCTION order_payment(integer, text)")
    op.execute(KEYS_UNDONE)
    for table, index in UNIQUE_IDS.items():
        op.execute(f"DROP INDEX {table}_by_id; CREATE UNIQUE INDEX {index} ON {table} (id)")

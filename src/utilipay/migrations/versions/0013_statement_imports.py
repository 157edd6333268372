"""Imported statements: channel, utility and bank statements in one normalized form (issue 6).

- ``statement_imports``: one row per imported file: its kind and the party that sent it
  (a channel, a biller or a bank account, by code or account number), the day it is
  for (NULL when a bank file spans several), its hash (the same file from the same
  party is imported once), its line count and net amount (PAID and CREDIT lines less
  REFUNDED, REVERSED and DEBIT ones, in fen), and ``summary``: what the file said
  about itself (summary row, header, balances), each check against its lines, whether
  they all agreed, and who accepted it if they did not.
- ``statement_lines``: the file's records, keyed by their line number in the file:
  our order id where the party names it, the party's own reference, the amount (fen,
  always positive; the status says which way), the instant and its business day.
  ``wechat_fundflow`` (WeChat's fund-flow bill: the merchant balance moving) is a kind
  beside the six of the contract: a bank-side statement (party ``bank``, lines CREDIT
  or DEBIT, no order ids), so it never stands in for a channel's trade bill.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE statement_imports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('wechat_trade', 'wechat_fundflow', 'alipay_detail',
        'generic_csv', 'biller_statement', 'camt053', 'mt940')),
    party text NOT NULL CHECK (party IN ('channel', 'biller', 'bank')),
    party_code text NOT NULL CHECK (party_code <> ''),
    business_date date,  -- NULL: a bank file spanning several days
    file_name text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    line_count integer NOT NULL CHECK (line_count >= 0),
    total_amount bigint NOT NULL,  -- fen, net
    summary jsonb NOT NULL,
    actor text NOT NULL,
    imported_at timestamptz NOT NULL,
    UNIQUE (party, party_code, sha256)
);

CREATE TABLE statement_lines (
    import_id bigint NOT NULL REFERENCES statement_imports (id),
    line_no integer NOT NULL CHECK (line_no >= 1),
    order_id text,
    party_ref text,
    account_no text,
    amount bigint NOT NULL CHECK (amount > 0),
    currency char(3) NOT NULL,
    status text NOT NULL CHECK (status IN ('PAID', 'REFUNDED', 'REVERSED', 'CREDIT', 'DEBIT')),
    channel_code text,
    occurred_at timestamptz NOT NULL,
    business_date date NOT NULL,
    counterparty text,
    PRIMARY KEY (import_id, line_no)
);
CREATE INDEX statement_lines_by_day_order ON statement_lines (business_date, order_id);
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE statement_lines, statement_imports")

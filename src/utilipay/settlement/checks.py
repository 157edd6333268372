"""The settlement's part of ``utilipay check``: a rule its keys cannot hold on a distributed
database (migration 0022), proven from the rows instead."""

from __future__ import annotations

from utilipay.ledger.check import Check

CHECKS = [
    # A branch's day is settled once, to one payee: a rule across payees, kept in a table of
    # its own written with the lines it guards.
    Check(
        "branch_days_settled_once",
        "each settlement line's branch and day is taken for its payee, and only those are",
        """
        SELECT format('branch %s on %s: its line is in the settlement of %s, taken for %s',
                      coalesce(l.branch_id, d.biller_id), coalesce(l.business_date,
                      d.business_date), coalesce(l.biller_id::text, 'nobody'),
                      coalesce(d.payee_id::text, 'nobody'))
          FROM settlement_lines l
          FULL JOIN settlement_branch_days d
            ON d.biller_id = l.branch_id AND d.business_date = l.business_date
           AND d.payee_id = l.biller_id
         WHERE l.branch_id IS NULL OR d.biller_id IS NULL
        """,
    ),
]

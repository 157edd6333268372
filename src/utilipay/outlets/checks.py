"""The outlets' part of ``utilipay check``: each float's running balance is its ledger
account, what it holds is its remote payments still PROCESSING, and every payment the
float paid for is booked against it. The ledger is read through its ``ledger_movements``."""

from __future__ import annotations

from utilipay.ledger.check import Check

CHECKS = [
    Check(
        "outlet_floats_match_ledger",
        "each outlet's float balance is what its ledger account says (a liability: minus the"
        " sum of its postings)",
        """
        SELECT format('outlet %s: float balance %s, its ledger account says %s', o.code,
                      f.balance, -coalesce(l.total, 0))
          FROM outlets o JOIN outlet_floats f ON f.outlet_id = o.id
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_movements
                      GROUP BY account_id) l ON l.account_id = o.float_account
         WHERE f.balance <> -coalesce(l.total, 0)
        """,
    ),
    Check(
        "outlet_floats_hold_their_pending_payments",
        "each outlet's held float is the sum of its terminal payments still HELD",
        """
        SELECT format('outlet %s: held %s, its HELD payments %s', o.code, f.held,
                      coalesce(h.total, 0))
          FROM outlets o JOIN outlet_floats f ON f.outlet_id = o.id
          LEFT JOIN (SELECT outlet_id, sum(amount) AS total FROM outlet_payments
                      WHERE float_state = 'HELD' GROUP BY outlet_id) h ON h.outlet_id = o.id
         WHERE f.held <> coalesce(h.total, 0)
        """,
    ),
    Check(
        "taken_outlet_payments_are_booked_on_the_float",
        "every terminal payment TAKEN from a float has its PAYMENT (or top-up) entry debiting"
        " that float with its amount",
        """
        SELECT format('terminal payment %s/%s of outlet %s (%s fen): the float is debited %s',
                      op.biller_id, op.payment_id, o.code, op.amount,
                      coalesce(d.debit, 0))
          FROM outlet_payments op JOIN outlets o ON o.id = op.outlet_id
          LEFT JOIN LATERAL (
              SELECT sum(m.amount) AS debit
                FROM ledger_movements m
               WHERE m.biller_id = op.biller_id AND m.payment_id = op.payment_id
                 AND m.kind IN ('PAYMENT', 'PREPAID_TOPUP')
                 AND m.account_id = o.float_account) d ON true
         WHERE op.float_state = 'TAKEN' AND d.debit IS DISTINCT FROM op.amount
        """,
    ),
]

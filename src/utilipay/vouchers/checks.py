"""The vouchers' rules in ``utilipay check``: the liability is the face value of the
vouchers sold and not yet redeemed or expired, the credit account the credits held, every
voucher payment booked by its rule, and a voucher REDEEMED exactly when it has its one
redemption."""

from __future__ import annotations

from utilipay.ledger.check import Check

_BALANCES = """
WITH expected AS ({expected}),
actual AS (
    SELECT a.biller_id, -coalesce(sum(p.amount), 0) AS balance
      FROM ledger_chart a LEFT JOIN ledger_movements p ON p.account_id = a.id
     WHERE a.kind = '{kind}' GROUP BY a.biller_id)
SELECT format('biller %s: {kind} %s, {what} say %s', coalesce(a.biller_id, e.biller_id),
              coalesce(a.balance, 0), coalesce(e.balance, 0))
  FROM actual a FULL JOIN expected e ON e.biller_id = a.biller_id
 WHERE coalesce(a.balance, 0) <> coalesce(e.balance, 0)
"""

CHECKS = [
    Check(
        "voucher_liability_matches_vouchers",
        "each utility's voucher liability is the face value of its vouchers sold and not yet"
        " redeemed or expired",
        _BALANCES.format(
            kind="VOUCHER_LIABILITY",
            what="its ACTIVE vouchers",
            expected="SELECT v.biller_id, sum(b.face) AS balance FROM vouchers v"
            " JOIN voucher_batches b ON b.id = v.batch_id WHERE v.state = 'ACTIVE'"
            " GROUP BY v.biller_id",
        ),
    ),
    Check(
        "voucher_credit_matches_accounts",
        "each utility's voucher credit account is the credits its accounts hold",
        _BALANCES.format(
            kind="VOUCHER_CREDIT",
            what="voucher_credits",
            expected="SELECT biller_id, sum(balance) AS balance FROM voucher_credits"
            " GROUP BY biller_id",
        ),
    ),
    Check(
        "voucher_payments_are_booked",
        "every payment by a voucher has one entry: a redemption debiting the liability with"
        " the face value, or a credit's use debiting the credit account with the bills",
        """
        WITH booked AS (
            SELECT m.biller_id, m.payment_id, count(DISTINCT m.entry_id) AS entries,
                   sum(m.amount) FILTER (WHERE a.kind IN ('VOUCHER_LIABILITY', 'VOUCHER_CREDIT')
                                           AND m.amount > 0) AS debit
              FROM ledger_movements m
              JOIN ledger_chart a ON a.id = m.account_id
             WHERE m.kind IN ('VOUCHER_REDEMPTION', 'VOUCHER_CREDIT_USE')
             GROUP BY m.biller_id, m.payment_id)
        SELECT format('voucher payment %s (%s fen): %s entries, debit %s', pay.id, pay.amount,
                      coalesce(bk.entries, 0), bk.debit)
          FROM payments_orders pay
          LEFT JOIN booked bk ON bk.biller_id = pay.biller_id AND bk.payment_id = pay.id
         WHERE pay.purpose = 'voucher'
           AND (bk.entries IS DISTINCT FROM 1 OR bk.debit IS DISTINCT FROM pay.amount)
        """,
    ),
    Check(
        "vouchers_redeemed_once",
        "a voucher is REDEEMED exactly when it has a redemption, of its face value",
        """
        SELECT format('voucher %s/%s is %s, redemption %s', v.batch_id, v.seq, v.state,
                      coalesce(r.payment_id, 'missing'))
          FROM vouchers v
          JOIN voucher_batches b ON b.id = v.batch_id
          LEFT JOIN voucher_redemptions r ON r.batch_id = v.batch_id AND r.seq = v.seq
         WHERE (v.state = 'REDEEMED') <> (r.payment_id IS NOT NULL)
            OR r.face <> b.face
        """,
    ),
]

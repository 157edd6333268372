"""``utilipay check``: prove the books.

Each check is one set-based query that returns the offending rows, so it
scales with the data and names every violation it finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

LIMIT = 20  # offending rows shown per check


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    description: str
    sql: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    violations: list[str]

    @property
    def passed(self) -> bool:
        return not self.violations


CHECKS = [
    Check(
        "entries_balance",
        "every journal entry has at least two postings in one currency summing to zero",
        """
        SELECT format('entry %s/%s: %s postings, sum %s', e.biller_id, e.id,
                      count(p.line_no), coalesce(sum(p.amount), 0))
          FROM journal_entries e
          LEFT JOIN postings p ON p.biller_id = e.biller_id AND p.entry_id = e.id
         GROUP BY e.biller_id, e.id
        HAVING count(p.line_no) < 2 OR coalesce(sum(p.amount), 0) <> 0
            OR count(DISTINCT p.currency) > 1
        """,
    ),
    Check(
        "biller_payable_matches_payments",
        "each biller's payable balance equals its succeeded bill payments (a void pending: still"
        " owed), settled prepaid use and vouchers' movements, less what settlements moved out"
        " of it",
        """
        WITH expected AS (
            SELECT biller_id, -sum(amount) AS balance
              FROM (SELECT biller_id, amount FROM payments_orders
                     WHERE status IN ('SUCCEEDED', 'VOID_PENDING') AND purpose = 'bills'
                    UNION ALL
                    SELECT biller_id, posted FROM prepaid_daily_charges
                    UNION ALL
                    SELECT biller_id, owed FROM voucher_payable_movements()
                    UNION ALL
                    SELECT branch_id, -gross FROM settlement_branches) owed
             GROUP BY biller_id),
        actual AS (
            SELECT a.biller_id, coalesce(sum(p.amount), 0) AS balance
              FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
             WHERE a.kind = 'BILLER_PAYABLE' GROUP BY a.biller_id)
        SELECT format('biller %s: payable %s, succeeded payments say %s',
                      b.code, coalesce(actual.balance, 0), coalesce(expected.balance, 0))
          FROM billers_directory b
          LEFT JOIN expected ON expected.biller_id = b.id
          LEFT JOIN actual ON actual.biller_id = b.id
         WHERE coalesce(actual.balance, 0) <> coalesce(expected.balance, 0)
        """,
    ),
    Check(
        "channel_receivable_matches_payments",
        "each channel's receivable balance equals its succeeded payments (a terminal's are"
        " booked against its outlet's float; a voucher's are not the channel's money)",
        """
        WITH expected AS (
            SELECT channel_id, sum(amount) AS balance FROM payments_orders p
             WHERE status = 'SUCCEEDED' AND purpose <> 'voucher'
               AND NOT EXISTS (SELECT 1 FROM outlets_payment_accounts o
                                WHERE o.biller_id = p.biller_id AND o.payment_id = p.id)
             GROUP BY channel_id),
        actual AS (
            SELECT a.channel_id, coalesce(sum(p.amount), 0) AS balance
              FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
             WHERE a.kind = 'CHANNEL_RECEIVABLE' GROUP BY a.channel_id)
        SELECT format('channel %s: receivable %s, succeeded payments say %s',
                      c.code, coalesce(actual.balance, 0), coalesce(expected.balance, 0))
          FROM channels_directory c
          LEFT JOIN expected ON expected.channel_id = c.id
          LEFT JOIN actual ON actual.channel_id = c.id
         WHERE coalesce(actual.balance, 0) <> coalesce(expected.balance, 0)
        """,
    ),
    Check(
        "no_bill_paid_twice",
        "no bill is in two succeeded payments",
        """
        SELECT format('bill %s/%s is in %s succeeded payments: %s', biller_id, bill_no,
                      count(*), string_agg(id, ', '))
          FROM (SELECT biller_id, id, unnest(bill_nos) AS bill_no
                  FROM payments_orders WHERE status IN ('SUCCEEDED', 'VOID_PENDING')) paid
         GROUP BY biller_id, bill_no HAVING count(*) > 1
        """,
    ),
    Check(
        "paid_bills_have_their_payment",
        "a bill is PAID exactly when a succeeded payment of its account lists it",
        """
        SELECT format('bill %s/%s is %s, payment %s is %s', b.biller_id, b.bill_no, b.status,
                      coalesce(b.payment_id, '-'), coalesce(p.status, 'missing'))
          FROM billing_bills b
          LEFT JOIN payments_orders p ON p.biller_id = b.biller_id AND p.id = b.payment_id
         WHERE (b.status = 'PAID') <> coalesce(
                   p.status IN ('SUCCEEDED', 'VOID_PENDING') AND b.bill_no = ANY (p.bill_nos)
                   AND p.account_no = b.account_no, false)
        UNION ALL
        SELECT format('payment %s lists bill %s/%s, which is %s', p.id, p.biller_id, x.bill_no,
                      coalesce(b.status || ' by ' || coalesce(b.payment_id, '-'), 'missing'))
          FROM payments_orders p
          CROSS JOIN LATERAL unnest(p.bill_nos) AS x(bill_no)
          JOIN billers_directory bl ON bl.id = p.biller_id AND bl.mode = 'hosted'
          LEFT JOIN billing_bills b ON b.biller_id = p.biller_id AND b.bill_no = x.bill_no
         WHERE p.status IN ('SUCCEEDED', 'VOID_PENDING') AND b.payment_id IS DISTINCT FROM p.id
        """,
    ),
    Check(
        "succeeded_payments_are_booked",
        "every succeeded payment (voided ones too) has one entry debiting its channel (a"
        " terminal's: its outlet's float) and crediting its biller (a top-up: the account's"
        " prepaid balance; a voucher's: see vouchers/checks.py)",
        """
        WITH booked AS (
            SELECT e.biller_id, e.payment_id, count(DISTINCT e.id) AS entries,
                   sum(p.amount) FILTER (WHERE a.id = op.float_account
                                            OR op.float_account IS NULL
                                               AND a.kind = 'CHANNEL_RECEIVABLE'
                                               AND a.channel_id = pay.channel_id) AS debit,
                   -sum(p.amount) FILTER (
                       WHERE pay.purpose = 'bills' AND a.kind = 'BILLER_PAYABLE'
                             AND a.biller_id = pay.biller_id
                          OR pay.purpose = 'prepaid_topup' AND a.id = pa.ledger_account_id)
                       AS credit
              FROM journal_entries e
              JOIN payments_orders pay ON pay.biller_id = e.biller_id AND pay.id = e.payment_id
              JOIN postings p ON p.biller_id = e.biller_id AND p.entry_id = e.id
              JOIN ledger_accounts a ON a.id = p.account_id
              LEFT JOIN prepaid_balances pa
                ON pa.biller_id = pay.biller_id AND pa.account_no = pay.account_no
              LEFT JOIN outlets_payment_accounts op
                ON op.biller_id = pay.biller_id AND op.payment_id = pay.id
             WHERE e.kind IN ('PAYMENT', 'PREPAID_TOPUP')
             GROUP BY e.biller_id, e.payment_id)
        SELECT format('payment %s (%s, %s fen): %s entries, debit %s, credit %s', pay.id,
                      pay.status, pay.amount, coalesce(bk.entries, 0), bk.debit, bk.credit)
          FROM payments_orders pay
          LEFT JOIN booked bk ON bk.biller_id = pay.biller_id AND bk.payment_id = pay.id
         WHERE pay.purpose <> 'voucher'  -- booked by their own rules (vouchers/checks.py)
           AND CASE WHEN pay.status IN ('SUCCEEDED', 'VOID_PENDING', 'VOIDED')
                    THEN bk.entries IS DISTINCT FROM 1 OR bk.debit IS DISTINCT FROM pay.amount
                         OR bk.credit IS DISTINCT FROM pay.amount
                    ELSE bk.entries IS NOT NULL END
        """,
    ),
    Check(
        "prepaid_balances_match_ledger",
        "each prepaid balance is what its ledger account says",
        """
        SELECT format('prepaid account %s/%s: balance %s, its ledger account says %s',
                      pa.biller_id, pa.account_no, pa.balance, -coalesce(l.total, 0))
          FROM prepaid_balances pa
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings
                      GROUP BY account_id) l ON l.account_id = pa.ledger_account_id
         WHERE pa.balance <> -coalesce(l.total, 0)
        """,
    ),
    Check(
        "accruals_are_booked",
        "each day's prepaid settlement entry moves exactly its accruals to the biller",
        """
        WITH accrued AS (
            SELECT biller_id, entry_id, sum(posted) AS posted FROM prepaid_daily_charges
             WHERE entry_id IS NOT NULL GROUP BY biller_id, entry_id),
        booked AS (
            SELECT e.biller_id, e.id AS entry_id,
                   -sum(p.amount) FILTER (WHERE a.kind = 'BILLER_PAYABLE') AS to_biller,
                   sum(p.amount) FILTER (WHERE a.kind = 'PREPAID_BALANCE') AS from_balances
              FROM journal_entries e
              JOIN postings p ON p.biller_id = e.biller_id AND p.entry_id = e.id
              JOIN ledger_accounts a ON a.id = p.account_id
             WHERE e.kind = 'PREPAID_ACCRUAL'
             GROUP BY e.biller_id, e.id)
        SELECT format('accrual entry %s/%s: accruals %s, to the biller %s, from balances %s',
                      coalesce(a.biller_id, b.biller_id), coalesce(a.entry_id, b.entry_id),
                      a.posted, b.to_biller, b.from_balances)
          FROM accrued a FULL JOIN booked b USING (biller_id, entry_id)
         WHERE a.posted IS DISTINCT FROM b.to_biller OR a.posted IS DISTINCT FROM b.from_balances
        """,
    ),
    Check(
        "settlements_are_booked",
        "each settlement's one entry debits each branch's payable with its gross and credits"
        " the payee's settled account, fee income, refunds payable and the outlets' floats"
        " with its figures",
        """
        WITH booked AS (
            SELECT e.biller_id, e.id AS entry_id,
                   sum(p.amount) FILTER (WHERE a.kind = 'BILLER_PAYABLE') AS gross,
                   -sum(p.amount) FILTER (WHERE a.kind = 'BILLER_SETTLED'
                                            AND a.biller_id = e.biller_id) AS net,
                   -sum(p.amount) FILTER (WHERE a.kind = 'HUB_FEE_INCOME') AS fees,
                   -sum(p.amount) FILTER (WHERE a.kind = 'REFUND_PAYABLE') AS refunds,
                   -sum(p.amount) FILTER (WHERE a.kind = 'OUTLET_FLOAT') AS commission
              FROM journal_entries e
              JOIN postings p ON p.biller_id = e.biller_id AND p.entry_id = e.id
              JOIN ledger_accounts a ON a.id = p.account_id
             WHERE e.kind = 'SETTLEMENT'
             GROUP BY e.biller_id, e.id),
        branch AS (
            SELECT p.biller_id, p.entry_id, a.biller_id AS branch_id, sum(p.amount) AS gross
              FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
             WHERE a.kind = 'BILLER_PAYABLE'
               AND (p.biller_id, p.entry_id) IN (SELECT biller_id, id FROM journal_entries
                                                  WHERE kind = 'SETTLEMENT')
             GROUP BY p.biller_id, p.entry_id, a.biller_id)
        SELECT format('settlement %s/%s (entry %s): gross %s/%s, net %s/%s, fees %s/%s,'
                      ' refunds %s/%s, commission %s/%s (settled/booked)',
                      coalesce(s.biller_id, b.biller_id), s.business_date,
                      coalesce(s.entry_id, b.entry_id), s.gross, b.gross, s.net, b.net,
                      s.fees, b.fees, s.refunds, b.refunds, s.commission, b.commission)
          FROM settlement_days s
          FULL JOIN booked b ON b.biller_id = s.biller_id AND b.entry_id = s.entry_id
         WHERE s.biller_id IS NULL OR b.biller_id IS NULL AND s.entry_id IS NOT NULL
            OR (s.gross, s.net, s.fees, s.refunds, s.commission) IS DISTINCT FROM
               (coalesce(b.gross, 0), coalesce(b.net, 0), coalesce(b.fees, 0),
                coalesce(b.refunds, 0), coalesce(b.commission, 0))
            OR s.gross IS DISTINCT FROM (SELECT sum(l.gross) FROM settlement_branches l
                                          WHERE l.biller_id = s.biller_id
                                            AND l.business_date = s.business_date)
        UNION ALL
        SELECT format('settlement %s/%s: branch %s gross %s, its payable debited %s',
                      l.biller_id, l.business_date, l.branch_id, l.gross, coalesce(d.gross, 0))
          FROM settlement_branches l
          JOIN settlement_days s USING (biller_id, business_date)
          LEFT JOIN branch d ON d.biller_id = s.biller_id AND d.entry_id = s.entry_id
                            AND d.branch_id = l.branch_id
         WHERE coalesce(d.gross, 0) <> l.gross
        """,
    ),
    Check(
        "settled_accounts_match_settlements",
        "each payee's settled account is its settlements' net, each biller's fee income its"
        " lines' fees; refunds payable are the settlements' refunds",
        """
        WITH settled AS (
            SELECT a.kind, a.biller_id, coalesce(sum(p.amount), 0) AS balance
              FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
             WHERE a.kind IN ('BILLER_SETTLED', 'HUB_FEE_INCOME', 'REFUND_PAYABLE')
             GROUP BY a.kind, a.biller_id),
        expected AS (
            SELECT 'BILLER_SETTLED' AS kind, biller_id, -sum(net) AS balance
              FROM settlement_days GROUP BY biller_id
            UNION ALL
            SELECT 'HUB_FEE_INCOME', branch_id, -sum(fees) FROM settlement_branches
             GROUP BY branch_id
            UNION ALL
            SELECT 'REFUND_PAYABLE', NULL, -sum(refunds) FROM settlement_days),
        actual AS (
            SELECT kind, CASE WHEN kind <> 'REFUND_PAYABLE' THEN biller_id END AS biller_id,
                   sum(balance) AS balance
              FROM settled GROUP BY 1, 2)
        SELECT format('%s %s: balance %s, settlements say %s', coalesce(a.kind, e.kind),
                      coalesce(a.biller_id, e.biller_id), coalesce(a.balance, 0),
                      coalesce(e.balance, 0))
          FROM actual a FULL JOIN expected e
            ON e.kind = a.kind AND e.biller_id IS NOT DISTINCT FROM a.biller_id
         WHERE coalesce(a.balance, 0) <> coalesce(e.balance, 0)
        """,
    ),
]


async def run_checks(
    conn: AsyncConnection, checks: Sequence[Check] = tuple(CHECKS)
) -> list[CheckResult]:
    """Run ``checks``: the ledger's own by default; ``runtime.books`` adds the areas' own.

    Without nested loops: every check reads whole tables, where hash joins are right. On
    43,000 voucher payments that the statistics did not yet know of (an EXPLAIN
    estimated one) the voucher check ran for 8 minutes; with hash joins it takes 0.2 s
    (BENCHMARKS.md, "utilipay check on fresh rows"). The caller's setting is back when
    they are done."""
    previous = await conn.scalar(text("SELECT current_setting('enable_nestloop')"))
    await conn.execute(text("SELECT set_config('enable_nestloop', 'off', true)"))
    results = []
    for check in checks:
        rows = await conn.execute(text(f"{check.sql} LIMIT {LIMIT}"))
        results.append(CheckResult(check, [r[0] for r in rows]))
    await conn.execute(
        text("SELECT set_config('enable_nestloop', :previous, true)"), {"previous": previous}
    )
    return results

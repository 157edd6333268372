"""The payments' part of ``utilipay check``: rules their keys cannot hold on a distributed
database (migration 0022), proven from the rows instead, and the voids' books, read
through the views the ledger and the outlets publish."""

from __future__ import annotations

from utilipay.ledger.check import Check

CHECKS = [
    # The order id is unique across billers in a table of its own, written with the payment
    # it guards (migration 0022): no foreign key can tie the two on a distributed database.
    Check(
        "payment_orders_name_their_payments",
        "each payment's order is claimed in payment_orders for it, and each claim names its"
        " payment",
        """
        SELECT format('order %s of channel %s: claimed for %s, payment %s', coalesce(o.order_id,
                      p.order_id), coalesce(o.channel_id, p.channel_id),
                      coalesce(o.biller_id || '/' || o.payment_id, 'nothing'),
                      coalesce(p.biller_id || '/' || p.id || ' of order ' || p.order_id
                               || ' of channel ' || p.channel_id, 'missing'))
          FROM payment_orders o
          FULL JOIN payments p ON p.biller_id = o.biller_id AND p.id = o.payment_id
         WHERE p.id IS NULL OR o.payment_id IS NULL
            OR (o.channel_id, o.order_id) <> (p.channel_id, p.order_id)
        """,
    ),
    # The dashboard's figures (payment_rollups, kept by triggers: sql/rollups.sql) are a
    # count of the payments, per business day, utility, channel and status.
    Check(
        "payment_rollups_count_the_payments",
        "the rollup of each business day, utility, channel and status is the count and sum"
        " of its payments",
        """
        WITH counted AS (
            SELECT biller_id, business_date, channel_id, status, sum(payments) AS n,
                   sum(amount) AS amount
              FROM payment_rollups GROUP BY 1, 2, 3, 4
            HAVING sum(payments) <> 0 OR sum(amount) <> 0
        ), paid AS (
            SELECT biller_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS business_date,
                   channel_id, status, count(*) AS n, sum(amount) AS amount
              FROM payments GROUP BY 1, 2, 3, 4
        )
        SELECT format('biller %s, %s, channel %s, %s: the rollup has %s payments of %s fen,'
                      ' the payments are %s of %s fen', biller_id, business_date, channel_id,
                      status, coalesce(c.n, 0), coalesce(c.amount, 0), coalesce(p.n, 0),
                      coalesce(p.amount, 0))
          FROM counted c FULL JOIN paid p USING (biller_id, business_date, channel_id, status)
         WHERE (c.n, c.amount) IS DISTINCT FROM (p.n, p.amount)
        """,
    ),
    # The anomaly monitoring's minutes (payment_minutes, kept by triggers: sql/minutes.sql)
    # are a count of the payments per minute, utility, channel and status, with their
    # latency, over the 14 days before the newest (the fold drops minutes of 15 days ago).
    Check(
        "payment_minutes_count_the_payments",
        "the minutes of the 14 days before the newest count the payments per minute, utility,"
        " channel and status, with their amount and latency",
        """
        WITH kept AS (
            SELECT coalesce(max(minute) - interval '14 days', '-infinity') AS since
              FROM payment_minutes
        ), counted AS (
            SELECT biller_id, minute, channel_id, status, sum(payments) AS n,
                   sum(amount) AS amount, sum(latency_ms) AS ms, sum(within_5s) AS within_5s
              FROM payment_minutes WHERE minute >= (SELECT since FROM kept)
             GROUP BY 1, 2, 3, 4
            HAVING sum(payments) <> 0 OR sum(amount) <> 0 OR sum(latency_ms) <> 0
        ), paid AS (
            SELECT biller_id, date_trunc('minute', created_at) AS minute, channel_id, status,
                   count(*) AS n, sum(amount) AS amount, coalesce(sum(ms), 0) AS ms,
                   count(*) FILTER (WHERE ms <= 5000) AS within_5s
              FROM payments
             CROSS JOIN LATERAL (SELECT payment_latency_ms(created_at, finished_at) AS ms) l
             WHERE created_at >= (SELECT since FROM kept)
             GROUP BY 1, 2, 3, 4
        )
        SELECT format('biller %s, %s, channel %s, %s: the minutes have %s payments of %s fen'
                      ' (%s ms, %s within 5 s), the payments are %s of %s fen (%s ms, %s)',
                      biller_id, minute, channel_id, status, coalesce(c.n, 0),
                      coalesce(c.amount, 0), coalesce(c.ms, 0), coalesce(c.within_5s, 0),
                      coalesce(p.n, 0), coalesce(p.amount, 0), coalesce(p.ms, 0),
                      coalesce(p.within_5s, 0))
          FROM counted c FULL JOIN paid p USING (biller_id, minute, channel_id, status)
         WHERE (c.n, c.amount, c.ms, c.within_5s)
               IS DISTINCT FROM (p.n, p.amount, p.ms, p.within_5s)
        """,
    ),
    # A terminal's void (voids.py) reverses its payment's entry and gives the float back:
    # PAYMENT_VOID is the PAYMENT entry mirrored, onto the float of the outlet that took it.
    Check(
        "voids_are_booked",
        "each voided payment has one PAYMENT_VOID entry debiting its biller's payable and"
        " crediting the float of the outlet that took it with its amount; no other payment has one",
        """
        WITH booked AS (
            SELECT m.biller_id, m.payment_id, count(DISTINCT m.entry_id) AS entries,
                   sum(m.amount) FILTER (WHERE a.kind = 'BILLER_PAYABLE'
                                           AND a.biller_id = m.biller_id) AS debit,
                   -sum(m.amount) FILTER (WHERE a.id = op.float_account) AS credit
              FROM ledger_movements m
              JOIN ledger_chart a ON a.id = m.account_id
              LEFT JOIN outlets_payment_accounts op
                ON op.biller_id = m.biller_id AND op.payment_id = m.payment_id
             WHERE m.kind = 'PAYMENT_VOID'
             GROUP BY m.biller_id, m.payment_id)
        SELECT format('payment %s (%s, %s fen): %s void entries, debit %s, credit %s',
                      coalesce(pay.id, bk.payment_id), coalesce(pay.status, 'missing'),
                      pay.amount, coalesce(bk.entries, 0), bk.debit, bk.credit)
          FROM (SELECT * FROM payments WHERE status = 'VOIDED') pay
          FULL JOIN booked bk ON bk.biller_id = pay.biller_id AND bk.payment_id = pay.id
         WHERE pay.id IS NULL OR bk.entries IS DISTINCT FROM 1
            OR bk.debit IS DISTINCT FROM pay.amount OR bk.credit IS DISTINCT FROM pay.amount
        """,
    ),
    Check(
        "voids_gave_the_float_back",
        "a payment is VOIDED exactly when its outlet recorded the void done and its amount"
        " given back to the float",
        """
        SELECT format('payment %s is %s; the outlet says %s, void %s', p.id, p.status,
                      coalesce(op.float_state, 'no terminal payment'), coalesce(v.status, 'none'))
          FROM payments p
          LEFT JOIN outlets_payment_accounts op
            ON op.biller_id = p.biller_id AND op.payment_id = p.id
          LEFT JOIN outlets_standing_voids v ON v.biller_id = p.biller_id AND v.payment_id = p.id
         WHERE (p.status = 'VOIDED') <> coalesce(op.float_state = 'RETURNED', false)
            OR (p.status = 'VOIDED') <> coalesce(v.status = 'VOIDED', false)
            OR (p.status = 'VOID_PENDING') <> coalesce(v.status = 'PENDING', false)
        """,
    ),
]

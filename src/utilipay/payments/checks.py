"""The payments' part of ``utilipay check``: rules their keys cannot hold on a distributed
database (migration 0022), proven from the rows instead."""

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
]

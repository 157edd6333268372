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
]

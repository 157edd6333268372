"""What each record is: the classes, the corrections they call for, and the SQL that decides.

One record per order: the hub's payment (keyed by channel and order id), the
channel's lines for that order, and — for a remote biller whose statement was
imported — the utility's lines for the payment (keyed by our payment id, the
protocol's orderno). A REFUNDED channel line cancels a PAID one, a REVERSED
utility line a written-off one, so a paid-and-refunded order nets to nothing.

- MATCHED: hub SUCCEEDED, the channel paid, the utility wrote it off (three-way),
  one amount everywhere; or lines that cancel out on every side.
- CHANNEL_ONLY (长款): the channel took money; the hub has nothing, or not SUCCEEDED.
- HUB_ONLY (短款): hub SUCCEEDED; no channel line.
- AMOUNT_MISMATCH: the sides agree it was paid but not on how much.
- STATUS_MISMATCH: hub SUCCEEDED but the utility has no write-off or reversed it;
  or the utility wrote it off but the hub failed it, has it pending, or never saw it.
- DUPLICATE: an order twice on one side.
- CARRIED: the cut-off around midnight (carry.py); matched by the next day's run.

Corrections: RECONFIRM asks the utility (the resolver for a pending payment; a
confirm, and the charge again if it never arrived, for a write-off the utility
lacks); REVERSE undoes a write-off the channel never paid for (the protocol's
refund, 冲正); REFUND opens a refund of a failed payment's money to the channel;
EXCEPTION leaves it for a person. A succeeded payment the channel does not list
goes to a person: undoing it would need a reversing ledger entry the hub's books
do not have, and the channel may simply have left it off its statement.
"""

from __future__ import annotations

from enum import StrEnum

from utilipay.recon.carry import carried_sql


class Class(StrEnum):
    MATCHED = "MATCHED"
    CHANNEL_ONLY = "CHANNEL_ONLY"
    HUB_ONLY = "HUB_ONLY"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    DUPLICATE = "DUPLICATE"
    CARRIED = "CARRIED"


class Action(StrEnum):
    RECONFIRM = "RECONFIRM"
    REVERSE = "REVERSE"
    REFUND = "REFUND"
    EXCEPTION = "EXCEPTION"


def _net_per_key(source: str, keys: str) -> str:
    """A side's lines netted per key (PAID counts +1, its cancelling line -1); the earliest
    line gives the side its day and edge. Nearly every key has one line, which is its own
    net: only keys of several lines are grouped (grouping them all cost a third more)."""
    return f"""
CREATE OR REPLACE TEMP TABLE {source}_g AS
WITH several AS (SELECT {keys} FROM {source} GROUP BY {keys} HAVING count(*) > 1)
SELECT {keys}, CASE WHEN status = 'PAID' THEN 1 ELSE -1 END AS n,
       CASE WHEN status = 'PAID' THEN amount END AS amount,
       CASE WHEN status = 'PAID' THEN amount END AS max_amount, ts, day, edge, line
  FROM {source} ANTI JOIN several USING ({keys})
UNION ALL
SELECT {keys},
       CAST(sum(CASE WHEN status = 'PAID' THEN 1 ELSE -1 END) AS INTEGER) AS n,
       min(amount) FILTER (WHERE status = 'PAID') AS amount,
       max(amount) FILTER (WHERE status = 'PAID') AS max_amount,
       min(ts) AS ts, min(day) AS day, arg_min(edge, ts) AS edge, min(line) AS line
  FROM {source} SEMI JOIN several USING ({keys}) GROUP BY {keys}
"""  # noqa: S608 - names from this module, never from input


GROUP_CHANNEL = _net_per_key("chan", "channel_code, order_id")
GROUP_UTILITY = _net_per_key("util", "biller_id, payment_id")

# Channel orders and utility lines the hub rows read so far do not explain:
# their payments are looked up by key (finished on another day, or never).
UNEXPLAINED = """
SELECT DISTINCT c.channel_code, c.order_id, NULL AS biller_id, NULL AS payment_id FROM chan c
 WHERE c.day <= 0 AND NOT EXISTS (SELECT 1 FROM hub h
        WHERE h.channel_code = c.channel_code AND h.order_id = c.order_id)
UNION ALL
SELECT DISTINCT NULL, NULL, u.biller_id, u.payment_id FROM util u
 WHERE u.day <= 0 AND NOT EXISTS (SELECT 1 FROM hub h WHERE h.payment_id = u.payment_id)
"""

_SIDES = [
    ("coalesce(hd, 9)", "coalesce(he, 0)"),
    ("coalesce(cd, 9)", "coalesce(ce, 0)"),
    ("coalesce(ud, 9)", "coalesce(ue, 0)"),
]

RECORDS = f"""
CREATE OR REPLACE TABLE rec AS
WITH hc AS (
    SELECT coalesce(h.channel_code, c.channel_code) AS channel_code,
           coalesce(h.order_id, c.order_id) AS order_id,
           h.biller_id, h.payment_id, h.status AS hub_status, h.amount AS hub_amount,
           h.ts AS hub_at, h.day AS hd, h.edge AS he,
           c.n AS cn, c.amount AS ca, c.max_amount AS cmax, c.ts AS c_at, c.day AS cd,
           c.edge AS ce, c.line AS cl
      FROM hub h FULL JOIN chan_g c
        ON h.channel_code = c.channel_code AND h.order_id = c.order_id
), sides AS (
    SELECT hc.*, u.n AS un, u.amount AS ua, u.max_amount AS umax, u.ts AS u_at,
           u.day AS ud, u.edge AS ue, u.line AS ul
      FROM hc LEFT JOIN util_g u ON u.payment_id = hc.payment_id
    UNION ALL BY NAME
    SELECT u.biller_id, u.payment_id, u.n AS un, u.amount AS ua, u.max_amount AS umax,
           u.ts AS u_at, u.day AS ud, u.edge AS ue, u.line AS ul
      FROM util_g u ANTI JOIN hub h ON h.payment_id = u.payment_id
), facts AS (
    SELECT s.*, t.biller_id IS NOT NULL AS tw,
           {carried_sql(_SIDES)} AS carried,
           -- a side on D+1 counts in D only through the cut-off
           coalesce(cd, 9) <> 1 AND coalesce(cn, 0) > 0 AS c_paid,
           coalesce(hd, 9) <> 1 AND coalesce(hub_status = 'SUCCEEDED', false) AS h_ok,
           coalesce(ud, 9) <> 1 AND coalesce(un, 0) >= 1 AS u_paid,
           coalesce(ud, 9) <> 1 AND coalesce(un <= 0, false) AS u_rev,
           coalesce(cn, 0) > 1 OR coalesce(un, 0) > 1 AS dup,
           ca <> hub_amount OR cmax <> ca OR ua <> hub_amount OR umax <> ua AS amount_diff
      FROM sides s LEFT JOIN three_way t ON t.biller_id = s.biller_id
     WHERE (coalesce(hd, 9) = 0 OR coalesce(cd, 9) = 0 OR coalesce(ud, 9) = 0)
       AND (NOT $scoped OR s.biller_id IN (SELECT biller_id FROM scope))
), classed AS MATERIALIZED (
    SELECT *, CASE
        WHEN carried THEN 'CARRIED'
        WHEN dup THEN 'DUPLICATE'
        WHEN c_paid AND NOT h_ok THEN
             CASE WHEN u_paid THEN 'STATUS_MISMATCH' ELSE 'CHANNEL_ONLY' END
        WHEN h_ok AND NOT c_paid THEN 'HUB_ONLY'
        WHEN h_ok AND coalesce(amount_diff, false) THEN 'AMOUNT_MISMATCH'
        WHEN h_ok AND tw AND NOT u_paid THEN 'STATUS_MISMATCH'
        WHEN h_ok THEN 'MATCHED'
        WHEN u_paid THEN 'STATUS_MISMATCH'
        WHEN (cn IS NOT NULL AND coalesce(cd, 9) <> 1)
          OR (un IS NOT NULL AND coalesce(ud, 9) <> 1) THEN 'MATCHED'
    END AS class
      FROM facts
)
SELECT class,
       CASE class
        WHEN 'CHANNEL_ONLY' THEN CASE hub_status WHEN 'PROCESSING' THEN 'RECONFIRM'
                                                 WHEN 'FAILED' THEN 'REFUND'
                                                 ELSE 'EXCEPTION' END
        WHEN 'STATUS_MISMATCH' THEN CASE
             WHEN hub_status = 'PROCESSING' THEN 'RECONFIRM'
             WHEN h_ok AND NOT u_rev THEN 'RECONFIRM'
             WHEN NOT h_ok AND NOT c_paid THEN 'REVERSE'
             ELSE 'EXCEPTION' END
        WHEN 'HUB_ONLY' THEN 'EXCEPTION'
        WHEN 'AMOUNT_MISMATCH' THEN 'EXCEPTION'
        WHEN 'DUPLICATE' THEN 'EXCEPTION'
       END AS action,
       channel_code, order_id, biller_id, payment_id, hub_status, hub_amount, hub_at,
       coalesce(cn, 0) AS channel_lines, ca AS channel_amount, c_at AS channel_at,
       cl AS channel_line, coalesce(un, 0) AS utility_lines,
       CASE WHEN un >= 1 THEN 'PAID' WHEN un <= 0 THEN 'REVERSED' END AS utility_status,
       ua AS utility_amount, u_at AS utility_at, ul AS utility_line,
       CASE WHEN class = 'CARRIED' THEN $next_day END AS carried_to, 1 AS records
  FROM classed WHERE class IS NOT NULL AND class <> 'MATCHED'
-- matches are counted, not kept (engine.Matcher.export_items): one row says how many,
-- which spares writing a row for each (a third of this query's CPU, measured)
UNION ALL BY NAME
SELECT class, count(*) AS records FROM classed WHERE class = 'MATCHED' GROUP BY class
"""  # noqa: S608

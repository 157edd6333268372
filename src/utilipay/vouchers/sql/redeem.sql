-- Vouchers redeemed (channel-api.md §12), a batch in one call, as ``pay_hosted_many``
-- writes payments; each item is answered as if it came alone. For each: the order's
-- repeat answered first, then the brute-force brake, the PIN, the account's unpaid bills
-- oldest first (whole bills), the rest to the prepaid balance of a prepaid account or else
-- to the account's credit; one payment of the face value (purpose 'voucher', written with
-- its order's claim by ``hosted_payments_write``), the bills written off by
-- ``billing_write_off_many``, a prepaid balance credited by ``prepaid_credit``, one ledger
-- entry (``ledger_post_voucher_redemptions``).
--
-- The items are for distinct accounts, orders and PINs (``voucher_redeem_batch`` sends any
-- other batch an item at a time), so none changes what another finds, and the batch is
-- written a statement per table rather than per redemption: the nonces used, the vouchers
-- of the items that pass the checks locked in (biller, PIN hash) order, their accounts'
-- unpaid bills locked in (biller, account, bill) order and the face values applied
-- (``vouchers_bills_covered_many``), the prepaid rows locked, then the payments,
-- write-offs, redemptions, vouchers, entries, events and credits. An item that does not
-- pass is answered by ``voucher_refusal``, which records an invalid PIN's failure.
--
-- Outcomes: CREATED, EXISTING, IDEMPOTENCY_CONFLICT, REPLAYED, ACCOUNT_NOT_FOUND,
-- RATE_LIMITED, VOUCHER_INVALID. VOUCHER_INVALID records the failure (the caller commits
-- it: the brake must hold), every other refusal writes nothing but the nonce.
--
-- At most once: a voucher is redeemed only from a row locked and read ACTIVE (a concurrent
-- redemption of the same PIN waits for the lock, then reads it REDEEMED and is refused),
-- its update is conditional on ACTIVE, and ``voucher_redemptions`` has one row per voucher.
CREATE OR REPLACE FUNCTION voucher_redeem_many(
    p_ids text[], p_channel_ids integer[], p_nonces text[], p_order_ids text[],
    p_request_hashes bytea[], p_biller_ids integer[], p_account_nos text[], p_payers text[],
    p_pin_hashes bytea[], p_now timestamptz, p_max_failures integer, p_window interval,
    p_lockout interval
) RETURNS TABLE (item integer, outcome text, detail text, payment payments,
                 redemption voucher_redemptions)
LANGUAGE plpgsql AS $$
DECLARE
    v_today date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
    v_fresh bigint[];  -- the items whose nonce was used for the first time
    v_open integer[];  -- of those (or without a nonce), the ones no check refuses
    v_accepted integer[];  -- of those, the ones whose voucher is locked and ACTIVE
    -- by item (NULL for one not accepted): its voucher, its face value, the bills that pays
    -- (as the answer lists them, their numbers comma-joined, their total), its prepaid row
    v_batch_ids integer[];
    v_seqs integer[];
    v_faces bigint[];
    v_bills jsonb[];
    v_bill_lists text[];
    v_bills_totals bigint[];
    v_prepaid prepaid_accounts[];
    v_created payments[];
    v_redemptions voucher_redemptions[];
    v_payment payments;
    i integer;
BEGIN
    v_fresh := ARRAY(SELECT channel_nonces_use(p_channel_ids, p_nonces, p_now));
    v_open := ARRAY(
        SELECT k FROM generate_subscripts(p_ids, 1) k
         WHERE (p_nonces[k] IS NULL OR k = ANY (v_fresh))
           AND NOT EXISTS (SELECT FROM order_payment(p_channel_ids[k], p_order_ids[k]))
           AND NOT voucher_braked(p_channel_ids[k], p_payers[k], p_biller_ids[k],
                                  p_account_nos[k], p_now)
           AND EXISTS (SELECT FROM billing_accounts
                        WHERE biller_id = p_biller_ids[k] AND account_no = p_account_nos[k]));
    -- a row a concurrent redemption held is read again once its lock is granted: redeemed,
    -- it is no longer ACTIVE and its item is refused below
    WITH locked AS MATERIALIZED (
        SELECT o.n, v.batch_id, v.seq, b.face
          FROM unnest(v_open) o (n)
          JOIN vouchers v ON v.biller_id = p_biller_ids[o.n] AND v.pin_hash = p_pin_hashes[o.n]
          JOIN voucher_batches b ON b.biller_id = v.biller_id AND b.id = v.batch_id
         WHERE v.state = 'ACTIVE' AND b.expires_on >= v_today
         ORDER BY v.biller_id, v.pin_hash
           FOR UPDATE OF v)
    SELECT array_agg(l.batch_id ORDER BY k), array_agg(l.seq ORDER BY k),
           array_agg(l.face ORDER BY k), coalesce(array_agg(l.n ORDER BY k)
                                                  FILTER (WHERE l.n IS NOT NULL), '{}')
      INTO v_batch_ids, v_seqs, v_faces, v_accepted
      FROM generate_subscripts(p_ids, 1) k LEFT JOIN locked l ON l.n = k;

    SELECT array_agg(c.bills ORDER BY k), array_agg(c.bill_list ORDER BY k),
           array_agg(c.total ORDER BY k)
      INTO v_bills, v_bill_lists, v_bills_totals
      FROM generate_subscripts(p_ids, 1) k
      LEFT JOIN (
          SELECT v_accepted[c.item] AS n,
                 jsonb_agg(jsonb_build_object('bill_no', c.bill_no, 'amount', c.total)
                           ORDER BY c.due_date, c.bill_no) AS bills,
                 string_agg(c.bill_no, ',' ORDER BY c.bill_no) AS bill_list,
                 sum(c.total)::bigint AS total
            FROM vouchers_bills_covered_many(
                     ARRAY(SELECT p_biller_ids[a] FROM unnest(v_accepted) a),
                     ARRAY(SELECT p_account_nos[a] FROM unnest(v_accepted) a),
                     ARRAY(SELECT v_faces[a] FROM unnest(v_accepted) a), v_today) c
           GROUP BY c.item) c ON c.n = k;
    SELECT array_agg(p ORDER BY k) INTO v_prepaid
      FROM generate_subscripts(p_ids, 1) k
      LEFT JOIN prepaid_accounts_locked(ARRAY(SELECT p_biller_ids[a] FROM unnest(v_accepted) a),
                                        ARRAY(SELECT p_account_nos[a] FROM unnest(v_accepted) a)) p
        ON p.biller_id = p_biller_ids[k] AND p.account_no = p_account_nos[k];

    FOR i IN SELECT k FROM generate_subscripts(p_ids, 1) k WHERE k <> ALL (v_accepted) LOOP
        IF p_nonces[i] IS NOT NULL AND NOT i = ANY (v_fresh) THEN
            RETURN QUERY SELECT i, 'REPLAYED', 'nonce already used', NULL::payments,
                                NULL::voucher_redemptions;
        ELSE
            RETURN QUERY SELECT i, r.*
                           FROM voucher_refusal(p_channel_ids[i], p_order_ids[i],
                                                p_request_hashes[i], p_biller_ids[i],
                                                p_account_nos[i], p_payers[i], p_now,
                                                p_max_failures, p_window, p_lockout) r;
        END IF;
    END LOOP;

    SELECT coalesce(array_agg(w), '{}') INTO v_created
      FROM hosted_payments_write(
               ARRAY(SELECT p_ids[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT p_channel_ids[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT p_order_ids[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT p_request_hashes[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT p_biller_ids[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT p_account_nos[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT v_faces[a] FROM unnest(v_accepted) a),
               ARRAY(SELECT coalesce(v_bill_lists[a], '') FROM unnest(v_accepted) a), 'voucher',
               ARRAY(SELECT p_payers[a] FROM unnest(v_accepted) a),
               p_now, 'R' || to_char(v_today, 'YYYYMMDD')) w;
    FOR i IN SELECT a FROM unnest(v_accepted) a
              WHERE p_ids[a] <> ALL (ARRAY(SELECT c.id FROM unnest(v_created) c)) LOOP
        -- a concurrent twin claimed the order after the check: its redemption is the answer
        SELECT * INTO v_payment FROM order_payment(p_channel_ids[i], p_order_ids[i]);
        RETURN QUERY SELECT i, r.* FROM voucher_repeat(v_payment, p_request_hashes[i]) r;
    END LOOP;

    PERFORM billing_write_off_many(array_agg(c.biller_id), array_agg(b.bill_no),
                                   array_agg(c.id), p_now)
       FROM unnest(v_created) c, unnest(c.bill_nos) b (bill_no);
    WITH written AS (
        INSERT INTO voucher_redemptions (batch_id, seq, biller_id, payment_id, account_no, face,
                                         bills, prepaid, credit, redeemed_at)
        SELECT v_batch_ids[k], v_seqs[k], c.biller_id, c.id, c.account_no, v_faces[k],
               coalesce(v_bills[k], '[]'),
               CASE WHEN (v_prepaid[k]).account_no IS NULL THEN 0
                    ELSE v_faces[k] - coalesce(v_bills_totals[k], 0) END,
               CASE WHEN (v_prepaid[k]).account_no IS NULL
                    THEN v_faces[k] - coalesce(v_bills_totals[k], 0) ELSE 0 END,
               p_now
          FROM unnest(v_created) c, array_position(p_ids, c.id) k
        RETURNING *)
    SELECT coalesce(array_agg(w), '{}') INTO v_redemptions FROM written w;
    UPDATE vouchers v SET state = 'REDEEMED', state_at = p_now
      FROM unnest(v_redemptions) r
     WHERE v.biller_id = r.biller_id AND v.batch_id = r.batch_id AND v.seq = r.seq
       AND v.state = 'ACTIVE';

    PERFORM ledger_post_voucher_redemptions(
        ARRAY(SELECT r.biller_id FROM unnest(v_redemptions) r),
        ARRAY(SELECT r.payment_id FROM unnest(v_redemptions) r), p_now,
        ARRAY(SELECT r.face - r.prepaid - r.credit FROM unnest(v_redemptions) r),
        ARRAY(SELECT (v_prepaid[array_position(p_ids, r.payment_id)]).ledger_account_id
                FROM unnest(v_redemptions) r),
        ARRAY(SELECT r.prepaid FROM unnest(v_redemptions) r),
        ARRAY(SELECT r.credit FROM unnest(v_redemptions) r));
    -- a balance credited tells the outbox of the payment with the balance (prepaid_credit)
    PERFORM prepaid_credit(v_prepaid[k], r.prepaid, c, p_now)
       FROM unnest(v_created) c, array_position(p_ids, c.id) k, unnest(v_redemptions) r
      WHERE r.payment_id = c.id AND r.prepaid > 0;
    INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
    SELECT c.biller_id, 'payment.succeeded', c.id, payment_event(c), p_now
      FROM unnest(v_created) c, unnest(v_redemptions) r
     WHERE r.payment_id = c.id AND r.prepaid = 0;
    INSERT INTO voucher_credits AS vc (biller_id, account_no, balance, channel_id, payer)
    SELECT r.biller_id, r.account_no, r.credit, p_channel_ids[k], p_payers[k]
      FROM unnest(v_redemptions) r, array_position(p_ids, r.payment_id) k
     WHERE r.credit > 0
     ORDER BY r.biller_id, r.account_no
    ON CONFLICT (biller_id, account_no) DO UPDATE
       SET balance = vc.balance + excluded.balance, channel_id = excluded.channel_id,
           payer = excluded.payer;

    RETURN QUERY SELECT k, 'CREATED', NULL::text, c, r
                   FROM unnest(v_created) c, array_position(p_ids, c.id) k, unnest(v_redemptions) r
                  WHERE r.payment_id = c.id;
END $$;

-- The keys the brake counts a redemption's invalid PINs under: its payer's and its account's.
CREATE OR REPLACE FUNCTION voucher_brake_keys(
    p_channel_id integer, p_payer text, p_biller_id integer, p_account_no text
) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['payer:' || p_channel_id || ':' || p_payer,
                 'account:' || p_biller_id || ':' || p_account_no]
$$;

-- Whether the brake holds the payer (of a channel) or the account (§12) at p_now.
CREATE OR REPLACE FUNCTION voucher_braked(
    p_channel_id integer, p_payer text, p_biller_id integer, p_account_no text,
    p_now timestamptz
) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM voucher_lockouts
                    WHERE key = ANY (voucher_brake_keys(p_channel_id, p_payer, p_biller_id,
                                                        p_account_no))
                      AND until > p_now)
$$;

-- The answer to a redemption that did not pass ``voucher_redeem_many``'s checks (its nonce
-- used already): its order's repeat, the brake, an unknown account, or else an invalid PIN
-- (none of the utility's, not ACTIVE, or expired), whose failure counts against the payer
-- and the account. The PIN is looked at again only after the order: a concurrent twin of
-- this request that redeemed it first has committed by then (the lock waited for it).
CREATE OR REPLACE FUNCTION voucher_refusal(
    p_channel_id integer, p_order_id text, p_request_hash bytea, p_biller_id integer,
    p_account_no text, p_payer text, p_now timestamptz, p_max_failures integer,
    p_window interval, p_lockout interval
) RETURNS TABLE (outcome text, detail text, payment payments, redemption voucher_redemptions)
LANGUAGE plpgsql AS $$
DECLARE
    v_payment payments;
BEGIN
    SELECT * INTO v_payment FROM order_payment(p_channel_id, p_order_id);
    IF FOUND THEN
        RETURN QUERY SELECT * FROM voucher_repeat(v_payment, p_request_hash);
    ELSIF voucher_braked(p_channel_id, p_payer, p_biller_id, p_account_no, p_now) THEN
        RETURN QUERY SELECT 'RATE_LIMITED', 'too many invalid PINs, try again later',
                            NULL::payments, NULL::voucher_redemptions;
    ELSIF NOT EXISTS (SELECT FROM billing_accounts
                       WHERE biller_id = p_biller_id AND account_no = p_account_no) THEN
        RETURN QUERY SELECT 'ACCOUNT_NOT_FOUND', format('biller has no account %s', p_account_no),
                            NULL::payments, NULL::voucher_redemptions;
    ELSE
        PERFORM voucher_failed(voucher_brake_keys(p_channel_id, p_payer, p_biller_id,
                                                  p_account_no),
                               p_now, p_max_failures, p_window, p_lockout);
        RETURN QUERY SELECT 'VOUCHER_INVALID', 'the PIN is not a voucher that can be redeemed',
                            NULL::payments, NULL::voucher_redemptions;
    END IF;
END $$;

-- The answer to an order id already used: its redemption again, or a conflict (also when
-- the order paid bills with the channel's money: a different request).
CREATE OR REPLACE FUNCTION voucher_repeat(p_existing payments, p_request_hash bytea)
RETURNS TABLE (outcome text, detail text, payment payments, redemption voucher_redemptions)
LANGUAGE sql STABLE AS $$
    SELECT r.outcome, r.detail, r.payment, v
      FROM pay_hosted_repeat(p_existing, p_request_hash) r
      LEFT JOIN voucher_redemptions v
        ON v.biller_id = p_existing.biller_id AND v.payment_id = p_existing.id
$$;

-- An invalid PIN counted against the payer and the account; the key that reaches
-- ``p_max`` failures within ``p_window`` is locked out for ``p_lockout``. Each key's count
-- is taken under its own lock, so concurrent failures cannot all miss the limit.
CREATE OR REPLACE FUNCTION voucher_failed(
    p_keys text[], p_now timestamptz, p_max integer, p_window interval, p_lockout interval
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_key text;
BEGIN
    FOREACH v_key IN ARRAY (SELECT array_agg(k ORDER BY k) FROM unnest(p_keys) k) LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(v_key, 0));
        INSERT INTO voucher_failures (key, at) VALUES (v_key, p_now);
        IF (SELECT count(*) FROM voucher_failures
             WHERE key = v_key AND at > p_now - p_window AND at <= p_now) >= p_max THEN
            INSERT INTO voucher_lockouts AS l (key, until) VALUES (v_key, p_now + p_lockout)
            ON CONFLICT (key) DO UPDATE SET until = excluded.until;
        END IF;
    END LOOP;
END $$;

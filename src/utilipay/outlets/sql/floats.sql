-- An outlet's float (channel-api.md §11), moved only by these functions and by deposits and
-- voids: always one conditional UPDATE of the float's row, never read-then-write, so the
-- database keeps ``balance >= held >= 0`` whatever races (migration 0029's CHECKs back it).
--
-- Lock order, for every transaction that touches a float: the float rows first (in
-- ascending outlet id when there are several), then bills, payments and everything else.
-- A batch of hosted payments locks all its floats up front (``outlet_floats_lock``) before
-- ``pay_hosted`` locks any bill; a remote write-off's outcome locks its payment row, then
-- the float (nothing that holds a float waits for an existing payment row, so that order
-- cannot close a cycle). A void or a deposit that locks bills must lock the float first.

-- The floats of a batch's terminal payments, locked in one global order before any bill.
CREATE OR REPLACE FUNCTION outlet_floats_lock(p_outlet_ids integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM outlet_floats WHERE outlet_id = ANY (p_outlet_ids)
     ORDER BY outlet_id FOR UPDATE;
END $$;

-- Reserve a payment's amount: TAKEN (a hosted write-off, in its transaction) lowers the
-- balance, HELD (a remote write-off still PROCESSING) raises what is held. False, and
-- nothing changed, when the free float (balance − held) cannot cover it. The low-float
-- episode starts here when the float falls below the outlet's threshold.
CREATE OR REPLACE FUNCTION outlet_float_reserve(
    p_outlet_id integer, p_amount bigint, p_state text, p_biller_id integer,
    p_now timestamptz
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_free bigint;
BEGIN
    UPDATE outlet_floats
       SET balance = balance - CASE WHEN p_state = 'TAKEN' THEN p_amount ELSE 0 END,
           held = held + CASE WHEN p_state = 'HELD' THEN p_amount ELSE 0 END
     WHERE outlet_id = p_outlet_id AND balance - held >= p_amount
    RETURNING balance - held INTO v_free;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM outlet_low_float(p_outlet_id, p_biller_id, v_free, p_now);
    RETURN true;
END $$;

-- A hosted write-off's amount, TAKEN in its transaction (a negative amount gives it back).
CREATE OR REPLACE FUNCTION outlet_float_take(
    p_outlet_id integer, p_amount bigint, p_biller_id integer, p_now timestamptz
) RETURNS boolean LANGUAGE sql AS $$
    SELECT outlet_float_reserve(p_outlet_id, p_amount, 'TAKEN', p_biller_id, p_now);
$$;

-- Which outlet, terminal and operator took a payment (``p_terminal``: the JSON of
-- ``outlets.terminals.TerminalPayment``), written with the payment.
CREATE OR REPLACE FUNCTION outlet_payment_record(
    p_terminal jsonb, p_biller_id integer, p_payment_id text, p_amount bigint, p_state text,
    p_now timestamptz
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO outlet_payments (biller_id, payment_id, outlet_id, terminal_id, operator_code,
                                 tender, amount, collected_at, received_at, float_state)
    VALUES (p_biller_id, p_payment_id, (p_terminal ->> 'outlet_id')::integer,
            p_terminal ->> 'terminal_id', p_terminal ->> 'operator', p_terminal ->> 'tender',
            p_amount, (p_terminal ->> 'collected_at')::timestamptz, p_now, p_state);
$$;

-- A hosted payment's record: its amount was TAKEN with the write-off.
CREATE OR REPLACE FUNCTION outlet_payment_taken(
    p_terminal jsonb, p_biller_id integer, p_payment_id text, p_amount bigint,
    p_now timestamptz
) RETURNS void LANGUAGE sql AS $$
    SELECT outlet_payment_record(p_terminal, p_biller_id, p_payment_id, p_amount, 'TAKEN',
                                 p_now);
$$;

-- A remote terminal payment's outcome: TAKEN (written off: the held amount leaves the
-- balance) or RELEASED (failed: the hold is given back). The float account its PAYMENT
-- entry debits; NULL for a payment no terminal took.
CREATE OR REPLACE FUNCTION outlet_payment_settle(
    p_biller_id integer, p_payment_id text, p_state text, p_now timestamptz
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_payment outlet_payments;
    v_free bigint;
BEGIN
    SELECT * INTO v_payment FROM outlet_payments
     WHERE biller_id = p_biller_id AND payment_id = p_payment_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_payment.float_state <> 'HELD' THEN  -- an outcome is decided once: a broken invariant
        RAISE EXCEPTION 'terminal payment %/% is %, not HELD', p_biller_id, p_payment_id,
            v_payment.float_state;
    END IF;
    UPDATE outlet_floats
       SET held = held - v_payment.amount,
           balance = balance - CASE WHEN p_state = 'TAKEN' THEN v_payment.amount ELSE 0 END
     WHERE outlet_id = v_payment.outlet_id
    RETURNING balance - held INTO v_free;
    UPDATE outlet_payments SET float_state = p_state
     WHERE biller_id = p_biller_id AND payment_id = p_payment_id;
    PERFORM outlet_low_float(v_payment.outlet_id, p_biller_id, v_free, p_now);
    RETURN (SELECT float_account FROM outlets WHERE id = v_payment.outlet_id);
END $$;

-- The low-float episode (§11, issue 12): it starts when the free float falls below the
-- outlet's threshold (``low_since`` set, one ``outlet.float_low`` event: the owner's one
-- message, notify/outlets.py) and ends when it is back at or above it. The UPDATE matches
-- only at those two moments, so most payments write nothing here. ``p_biller_id`` NULL
-- (a deposit's ``floats.after_change``) can only end an episode: the float did not fall.
CREATE OR REPLACE FUNCTION outlet_low_float(
    p_outlet_id integer, p_biller_id integer, p_free bigint, p_now timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_outlet outlets;
BEGIN
    UPDATE outlets SET low_since = CASE WHEN p_free < low_threshold THEN p_now END
     WHERE id = p_outlet_id
       AND (low_since IS NULL) = (p_free < low_threshold)
       AND (p_biller_id IS NOT NULL OR low_since IS NOT NULL)
    RETURNING * INTO v_outlet;
    IF FOUND AND v_outlet.low_since IS NOT NULL THEN
        INSERT INTO outbox_emit (biller_id, event_type, aggregate_id, payload, occurred_at)
        VALUES (p_biller_id, 'outlet.float_low', v_outlet.id::text,
                jsonb_build_object('outlet_id', v_outlet.id, 'outlet', v_outlet.code,
                                   'name', v_outlet.name, 'free', p_free,
                                   'low_threshold', v_outlet.low_threshold,
                                   'account_no', v_outlet.code,
                                   'at', to_jsonb(p_now)),
                p_now);
    END IF;
END $$;

-- A store-and-forward payment refused because its bills were paid meanwhile: listed in
-- the outlet's refunds-due (the collector holds the cash). Once per order.
CREATE OR REPLACE FUNCTION outlet_refund_due(
    p_terminal jsonb, p_channel_id integer, p_order_id text, p_biller_id integer,
    p_account_no text, p_bill_nos text[], p_amount bigint, p_reason text, p_detail text,
    p_now timestamptz
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO outlet_refunds_due (outlet_id, channel_id, order_id, terminal_id,
                                    operator_code, biller_id, account_no, bill_nos, amount,
                                    tender, reason, detail, collected_at, received_at)
    VALUES ((p_terminal ->> 'outlet_id')::integer, p_channel_id, p_order_id,
            p_terminal ->> 'terminal_id', p_terminal ->> 'operator', p_biller_id,
            p_account_no, coalesce(p_bill_nos, '{}'), p_amount, p_terminal ->> 'tender',
            p_reason, p_detail, (p_terminal ->> 'collected_at')::timestamptz, p_now)
    ON CONFLICT (channel_id, order_id) DO NOTHING;
$$;

-- Every server process keeps the terminals, their outlets and operators in memory
-- (runtime/directory.py): a change tells them to reload, after commit. Only the columns
-- that process reads: a payment setting ``low_since`` must not make every process reload.
CREATE OR REPLACE FUNCTION outlets_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('utilipay_directory', '');
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER terminals_announced
    AFTER INSERT OR UPDATE OR DELETE ON terminals
    FOR EACH STATEMENT EXECUTE FUNCTION outlets_announce_change();
CREATE OR REPLACE TRIGGER outlet_operators_announced
    AFTER INSERT OR UPDATE OR DELETE ON outlet_operators
    FOR EACH STATEMENT EXECUTE FUNCTION outlets_announce_change();
CREATE OR REPLACE TRIGGER outlets_announced
    AFTER INSERT OR DELETE OR UPDATE OF channel_id, code, kind, status, float_account
    ON outlets FOR EACH STATEMENT EXECUTE FUNCTION outlets_announce_change();

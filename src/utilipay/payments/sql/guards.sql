-- A payment only ever moves PROCESSING -> SUCCEEDED or PROCESSING -> FAILED
-- (channel-api.md §5); the one exception is a terminal payment voided (§11):
-- SUCCEEDED -> VOIDED, or SUCCEEDED -> VOID_PENDING while a remote utility has not answered
-- the refund, then VOID_PENDING -> VOIDED, or back to SUCCEEDED on a definite refusal.
-- What the channel asked for never changes.
CREATE OR REPLACE FUNCTION payments_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'PROCESSING'
       AND (OLD.status, NEW.status) NOT IN (('SUCCEEDED', 'VOIDED'), ('SUCCEEDED', 'VOID_PENDING'),
                                            ('VOID_PENDING', 'VOIDED'),
                                            ('VOID_PENDING', 'SUCCEEDED')) THEN
        RAISE EXCEPTION 'payment % is % and final: refusing %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.biller_id, NEW.id, NEW.channel_id, NEW.order_id, NEW.request_hash, NEW.amount,
        NEW.account_no, NEW.bill_nos, NEW.currency)
       IS DISTINCT FROM
       (OLD.biller_id, OLD.id, OLD.channel_id, OLD.order_id, OLD.request_hash, OLD.amount,
        OLD.account_no, OLD.bill_nos, OLD.currency) THEN
        RAISE EXCEPTION 'payment %: the request it records is immutable', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER payments_transition
    BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION payments_guard_transition();

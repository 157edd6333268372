-- The outbox payload of a debit's events (debit.scheduled, .succeeded, .failed, .skipped).
CREATE OR REPLACE FUNCTION debit_event(d debits) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'debit_id', d.id, 'mandate_id', d.mandate_id,
        'biller', (SELECT code FROM billers_directory WHERE id = d.biller_id),
        'channel_id', d.channel_id, 'payer', d.payer, 'account_no', d.account_no,
        'purpose', d.purpose, 'bill_nos', to_jsonb(d.bill_nos), 'amount', d.amount,
        'status', d.status, 'reason', d.reason, 'payment_id', d.payment_id,
        'planned_at', shanghai_iso(d.planned_at), 'deadline', shanghai_iso(d.deadline))
$$;

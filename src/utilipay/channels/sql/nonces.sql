-- A channel's nonce, recorded at its first use: false when the channel used it before (a
-- replay). The one writer of ``channel_nonces``: the signed-request check calls it
-- (``repository.consume_nonce``), and so does the hosted payment's one database call.
CREATE OR REPLACE FUNCTION channel_nonce_use(p_channel_id integer, p_nonce text, p_at timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO channel_nonces (channel_id, nonce, seen_at) VALUES (p_channel_id, p_nonce, p_at)
    ON CONFLICT DO NOTHING;
    RETURN FOUND;
END $$;

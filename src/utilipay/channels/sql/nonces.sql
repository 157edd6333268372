-- A channel's nonces, recorded at their first use: the ordinals (1-based) of the nonces
-- used for the first time, each once (a nonce twice in one call: its first). A NULL nonce is
-- no nonce. The one writer of ``channel_nonces``: the signed-request check calls it through
-- ``channel_nonce_use`` (``repository.consume_nonce``), and so does a batch of hosted
-- payments (``pay_hosted_many``) for all its items at once. In key order, so two calls with
-- the same nonces queue instead of deadlocking.
CREATE OR REPLACE FUNCTION channel_nonces_use(
    p_channel_ids integer[], p_nonces text[], p_at timestamptz
) RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH used AS (
        INSERT INTO channel_nonces (channel_id, nonce, seen_at)
        SELECT channel_id, nonce, p_at FROM unnest(p_channel_ids, p_nonces) AS n (channel_id, nonce)
         WHERE nonce IS NOT NULL
         ORDER BY channel_id, nonce
        ON CONFLICT DO NOTHING
        RETURNING channel_id, nonce)
    SELECT min(n.k)
      FROM unnest(p_channel_ids, p_nonces) WITH ORDINALITY AS n (channel_id, nonce, k)
      JOIN used u ON u.channel_id = n.channel_id AND u.nonce = n.nonce
     GROUP BY n.channel_id, n.nonce
$$;

-- One nonce: false when the channel used it before (a replay).
CREATE OR REPLACE FUNCTION channel_nonce_use(p_channel_id integer, p_nonce text, p_at timestamptz)
RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT FROM channel_nonces_use(ARRAY[p_channel_id], ARRAY[p_nonce], p_at))
$$;

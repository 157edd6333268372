-- Tariff versions are immutable once loaded: a new version is loaded instead.
CREATE OR REPLACE FUNCTION tariff_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tariff versions are immutable: % on % refused (load a new version)',
        TG_OP, TG_TABLE_NAME;
END $$;
CREATE OR REPLACE TRIGGER tariff_versions_immutable BEFORE UPDATE OR DELETE ON tariff_versions
    FOR EACH STATEMENT EXECUTE FUNCTION tariff_refuse_change();
CREATE OR REPLACE TRIGGER tariff_blocks_immutable BEFORE UPDATE OR DELETE ON tariff_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION tariff_refuse_change();

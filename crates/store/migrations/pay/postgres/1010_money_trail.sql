-- The money trail: every payment event, refund event and ledger posting is
-- also an entry in its city's hash chain (chain 'money:<tenant id>'),
-- written in the same transaction. `civicpay audit verify` walks the
-- chain and compares it with the rows, so an edited amount, a deleted
-- posting or reordered events are found. The triggers make the rows
-- append-only for the application too. Keep in step with
-- sqlite/1010_money_trail.sql.

CREATE TABLE audit_entries (
    chain     TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE INDEX audit_entries_by_action ON audit_entries (chain, action, seq);

CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);

CREATE FUNCTION money_trail_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the money trail is append-only (%)', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION money_trail_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION money_trail_append_only();

CREATE TRIGGER payment_events_no_change BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION money_trail_append_only();
CREATE TRIGGER payment_events_no_truncate BEFORE TRUNCATE ON payment_events
    FOR EACH STATEMENT EXECUTE FUNCTION money_trail_append_only();

CREATE TRIGGER ledger_postings_no_change BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION money_trail_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION money_trail_append_only();

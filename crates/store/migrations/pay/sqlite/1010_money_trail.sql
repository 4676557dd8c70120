-- The money trail: every payment event, refund event and ledger posting is
-- also an entry in its city's hash chain (chain 'money:<tenant id>'),
-- written in the same transaction. `civicpay audit verify` walks the
-- chain and compares it with the rows, so an edited amount, a deleted
-- posting or reordered events are found. The triggers make the rows
-- append-only for the application too. Keep in step with
-- postgres/1010_money_trail.sql.

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

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the money trail is append-only');
END;

CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the money trail is append-only');
END;

CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment events are append-only');
END;

CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment events are append-only');
END;

CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN
    SELECT RAISE(ABORT, 'ledger postings are append-only');
END;

CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN
    SELECT RAISE(ABORT, 'ledger postings are append-only');
END;

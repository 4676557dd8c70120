-- The audit log: one hash chain per city ('platform' for the operator).
-- Entries are never updated or deleted by the application; the triggers
-- make that a rule of the database too, so a change needs someone to drop
-- them first, and `civicpay audit verify` still finds it.

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

-- The last entry of each chain, written in the same transaction; appends
-- lock this row, and verification compares it with the chain's end.
CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

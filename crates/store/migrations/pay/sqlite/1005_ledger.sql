-- Double-entry ledger. Each journal entry's postings sum to zero (checked
-- in core before they are written, and by the tests after).

ALTER TABLE payments ADD COLUMN allocations TEXT NOT NULL DEFAULT '[]';

CREATE TABLE ledger_postings (
    entry_id   TEXT NOT NULL,
    line       BIGINT NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES merchants (tenant_id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    refund_id  TEXT,
    account    TEXT NOT NULL,
    gl_code    TEXT,
    amount     BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (entry_id, line)
);

CREATE INDEX ledger_by_tenant ON ledger_postings (tenant_id, at);

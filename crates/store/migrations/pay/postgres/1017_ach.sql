-- E-checks. A bank account is sealed like a saved card: only the routing
-- number (a public bank id), the kind and the last four digits are in
-- clear. Entries wait for a NACHA file; the file claims them, with their
-- trace numbers, in the transaction that records it, so no entry is ever in
-- two files. The file's text is made again from its entries when needed
-- (it holds account numbers, so it is never stored); its SHA-256 proves the
-- text made again is the text sent.
CREATE TABLE bank_accounts (
    tenant_id   TEXT NOT NULL REFERENCES merchants(tenant_id),
    token       TEXT NOT NULL,
    owner       TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    routing     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    last4       TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    sealed      TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token)
);

CREATE TABLE ach_files (
    tenant_id      TEXT NOT NULL REFERENCES merchants(tenant_id),
    id             TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    id_modifier    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    entry_count    BIGINT NOT NULL,
    debit_total    BIGINT NOT NULL,
    credit_total   BIGINT NOT NULL,
    sha256         TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, effective_date, id_modifier)
);

CREATE TABLE ach_entries (
    tenant_id       TEXT NOT NULL REFERENCES merchants(tenant_id),
    id              TEXT NOT NULL,
    payment_id      TEXT,
    bank_account    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    sec             TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    description     TEXT NOT NULL,
    ready_on        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    file_id         TEXT,
    trace_sequence  BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_account) REFERENCES bank_accounts(tenant_id, token)
);
CREATE INDEX ach_entries_waiting ON ach_entries (tenant_id, file_id, ready_on);
CREATE INDEX ach_entries_trace ON ach_entries (tenant_id, trace_sequence);

-- The next trace sequence per city; its row is the lock two file jobs
-- queue on.
CREATE TABLE ach_counters (
    tenant_id  TEXT PRIMARY KEY REFERENCES merchants(tenant_id),
    next_trace BIGINT NOT NULL
);

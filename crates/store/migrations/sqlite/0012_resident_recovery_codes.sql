-- Codes a resident with two-step sign-in keeps on paper: each signs in
-- once in place of an authenticator code. Only a hash of each is kept.
CREATE TABLE resident_recovery_codes (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    resident_id TEXT NOT NULL REFERENCES residents (id),
    code_hash   TEXT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (tenant_id, resident_id, code_hash)
);

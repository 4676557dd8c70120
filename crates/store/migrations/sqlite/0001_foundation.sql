-- Cities, their bill types and bills; API keys; rate-limit counters.
-- Money is BIGINT minor units; times are BIGINT UTC microseconds; ids and
-- JSON are TEXT. Keep this file and postgres/0001_foundation.sql in step.

CREATE TABLE tenants (
    id               TEXT PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    currency         TEXT NOT NULL,
    time_zone        TEXT NOT NULL,
    default_language TEXT NOT NULL,
    contact          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE bill_types (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    slug            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    reference_label TEXT NOT NULL,
    verification    TEXT NOT NULL,
    gl_code         TEXT NOT NULL,
    position        BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE bills (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    bill_type_id     TEXT NOT NULL REFERENCES bill_types (id),
    external_id      TEXT NOT NULL,
    reference        TEXT NOT NULL,
    reference_key    TEXT NOT NULL,
    verification_key TEXT NOT NULL,
    payer_name       TEXT NOT NULL,
    postal_address   TEXT NOT NULL,
    email            TEXT,
    line_items       TEXT NOT NULL,
    currency         TEXT NOT NULL,
    amount_due       BIGINT NOT NULL CHECK (amount_due >= 0),
    amount_paid      BIGINT NOT NULL DEFAULT 0,
    due_date         TEXT NOT NULL,
    cancelled        BOOLEAN NOT NULL DEFAULT FALSE,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, external_id)
);

CREATE INDEX bills_by_reference ON bills (tenant_id, bill_type_id, reference_key);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    key_hash   TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE rate_limit_hits (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

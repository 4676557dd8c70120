-- The pay service's own database: never shared with the portal. No column
-- holds a card number or a security code; cards appear as brand + last 4.
-- Keep in step with sqlite/1000_payments.sql.

CREATE TABLE merchants (
    tenant_id  TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE pay_api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES merchants (tenant_id),
    key_hash   TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE payments (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES merchants (tenant_id),
    status             TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    reference          TEXT NOT NULL,
    description        TEXT NOT NULL,
    return_url         TEXT NOT NULL,
    email              TEXT,
    language           TEXT NOT NULL,
    metadata           TEXT NOT NULL,
    channel            TEXT NOT NULL,
    card_brand         TEXT,
    card_last4         TEXT,
    authorisation_code TEXT,
    failure_code       TEXT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    captured_amount    BIGINT NOT NULL DEFAULT 0,
    refunded_amount    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount <= captured_amount),
    next_token_hash    TEXT UNIQUE,
    next_token_used_at BIGINT,
    card_session_hash  TEXT,
    expires_at         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE INDEX payments_by_reference ON payments (tenant_id, reference);
CREATE INDEX payments_by_created ON payments (tenant_id, created_at);
CREATE INDEX payments_by_status ON payments (status, updated_at);

CREATE TABLE payment_events (
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    seq         BIGINT NOT NULL,
    tenant_id   TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    event       TEXT NOT NULL,
    cause       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (payment_id, seq)
);

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   BIGINT NOT NULL,
    response_body TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);

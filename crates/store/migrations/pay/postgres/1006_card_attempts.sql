-- What was typed into the card page, attempt by attempt, and which build of
-- the page it was typed into: the record a city needs to know exactly whom
-- to notify if the page was ever tampered with. Never a card number beyond
-- its last four digits, never a security code.

ALTER TABLE payments ADD COLUMN payer_name TEXT;
ALTER TABLE payments ADD COLUMN payer_address TEXT;

CREATE TABLE card_attempts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES merchants (tenant_id),
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    at              BIGINT NOT NULL,
    build_id        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    language        TEXT NOT NULL,
    cardholder_name TEXT NOT NULL,
    postal_code     TEXT NOT NULL,
    email           TEXT,
    card_brand      TEXT,
    card_last4      TEXT,
    -- Which fields held something: name, card_number, expiry, security_code, postal_code, email.
    elements        TEXT NOT NULL
);

CREATE INDEX card_attempts_by_time ON card_attempts (tenant_id, at);
CREATE INDEX card_attempts_by_build ON card_attempts (tenant_id, build_id, at);

-- One-time tokens that show the card page to the tamper monitor without a
-- payment behind it.
CREATE TABLE card_probes (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES merchants (tenant_id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Signed webhooks to each city's systems. A delivery is queued in the same
-- transaction as the payment change it reports; every attempt is kept.

CREATE TABLE webhook_endpoints (
    tenant_id  TEXT PRIMARY KEY REFERENCES merchants (tenant_id),
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES merchants (tenant_id),
    payment_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

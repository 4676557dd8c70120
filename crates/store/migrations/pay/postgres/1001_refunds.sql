-- Refunds. A refund reserves its amount on the payment (refunded_amount)
-- in the same transaction that checks the refundable balance, with the
-- payment's row held; a failed refund releases it.

CREATE TABLE refunds (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES merchants (tenant_id),
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);

CREATE INDEX refunds_by_payment ON refunds (tenant_id, payment_id);

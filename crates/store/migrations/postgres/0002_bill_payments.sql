-- Payments the portal started for bills, by the pay service's payment id.
-- applied_at is set once, in the same transaction that adds the payment to
-- the bill, so a bill is paid exactly once whichever signal arrives first.

CREATE TABLE bill_payments (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    bill_id        TEXT NOT NULL REFERENCES bills (id),
    pay_payment_id TEXT UNIQUE,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL,
    card_brand     TEXT,
    card_last4     TEXT,
    applied_at     BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX bill_payments_by_bill ON bill_payments (tenant_id, bill_id);

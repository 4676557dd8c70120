-- The card processor account that takes a city's payments, as the
-- platform registered it (JSON; NULL: the deployment's acquirer), and the
-- processor's secrets, each sealed under a key of its own that the city's
-- key-encryption key wraps (the KEK is outside the database).
ALTER TABLE merchants ADD COLUMN processor TEXT;

CREATE TABLE merchant_secrets (
    tenant_id   TEXT NOT NULL REFERENCES merchants(tenant_id),
    name        TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

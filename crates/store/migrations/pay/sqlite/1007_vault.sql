-- Saved cards. A card number is here only sealed (AES-256-GCM) under its
-- city's data key; data keys are here only wrapped by the city's
-- key-encryption key, which is a file outside the database. The security
-- code has no column anywhere.

CREATE TABLE vault_data_keys (
    tenant_id  TEXT NOT NULL REFERENCES merchants (tenant_id),
    version    BIGINT NOT NULL,
    kek_id     TEXT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE vault_cards (
    token       TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES merchants (tenant_id),
    -- Who may use it, as the portal names its resident: opaque to pay.
    owner       TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    sealed      TEXT NOT NULL,
    brand       TEXT NOT NULL,
    last4       TEXT NOT NULL,
    exp_month   BIGINT NOT NULL,
    exp_year    BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, key_version) REFERENCES vault_data_keys (tenant_id, version)
);

CREATE INDEX vault_cards_by_key ON vault_cards (tenant_id, key_version);
CREATE INDEX vault_cards_by_owner ON vault_cards (tenant_id, owner);

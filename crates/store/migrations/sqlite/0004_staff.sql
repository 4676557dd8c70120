-- Staff accounts, their second factors and server-side sessions, and
-- refunds waiting for a second person's approval.

ALTER TABLE tenants ADD COLUMN refund_approval_threshold BIGINT NOT NULL DEFAULT 10000;

CREATE TABLE staff_users (
    id                   TEXT PRIMARY KEY,
    -- NULL for the platform operator, who belongs to no city.
    tenant_id            TEXT REFERENCES tenants (id),
    email                TEXT NOT NULL,
    role                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    password_hash        TEXT,
    totp_secret          TEXT,
    -- The last TOTP step accepted: a code is good once.
    totp_last_step       BIGINT NOT NULL DEFAULT 0,
    failed_sign_ins      BIGINT NOT NULL DEFAULT 0,
    locked_until         BIGINT NOT NULL DEFAULT 0,
    -- SHA-256 of the one-time enrolment link's token.
    enrolment_token_hash TEXT UNIQUE,
    enrolment_expires_at BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE UNIQUE INDEX staff_users_by_email ON staff_users (COALESCE(tenant_id, 'platform'), email);

CREATE TABLE staff_recovery_codes (
    staff_id  TEXT NOT NULL REFERENCES staff_users (id),
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (staff_id, code_hash)
);

-- Only the SHA-256 of a session's token is kept.
CREATE TABLE staff_sessions (
    token_hash   TEXT PRIMARY KEY,
    staff_id     TEXT NOT NULL REFERENCES staff_users (id),
    stage        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE refund_requests (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    pay_payment_id TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL,
    requested_by   TEXT NOT NULL REFERENCES staff_users (id),
    requested_at   BIGINT NOT NULL,
    decided_by     TEXT REFERENCES staff_users (id),
    decided_at     BIGINT,
    pay_refund_id  TEXT,
    failure        TEXT
);

CREATE INDEX refund_requests_by_status ON refund_requests (tenant_id, status, requested_at);
CREATE INDEX refund_requests_by_payment ON refund_requests (tenant_id, pay_payment_id);

-- Resident accounts (issue 7): accounts, one-time e-mail tokens, sessions,
-- linked bill accounts, autopay and the e-mails already sent. Flags are
-- BIGINT 0/1 (the Any driver decodes no SQLite BOOLEAN). Keep this file
-- and postgres/0005_residents.sql in step.

-- Who paid while signed in, and the address a receipt went to (so a guest
-- payment shows up once that address is verified). Deleting an account
-- clears both and keeps the payment.
ALTER TABLE bill_payments ADD COLUMN resident_id TEXT;
ALTER TABLE bill_payments ADD COLUMN payer_email TEXT;
CREATE INDEX bill_payments_by_resident ON bill_payments (tenant_id, resident_id);
CREATE INDEX bill_payments_by_email ON bill_payments (tenant_id, payer_email);

-- A deleted account keeps its row (status 'deleted', no e-mail, no
-- password) so that nothing points at a missing id.
CREATE TABLE residents (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    email           TEXT,
    status          TEXT NOT NULL,
    password_hash   TEXT,
    -- The optional second factor; the last TOTP step accepted, so a code
    -- works once.
    totp_secret     TEXT,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    language        TEXT NOT NULL,
    paperless       BIGINT NOT NULL DEFAULT 0,
    reminder_days   BIGINT NOT NULL DEFAULT 3,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE UNIQUE INDEX residents_by_email ON residents (tenant_id, email);

-- SHA-256 of single-use e-mailed links: verify, reset, change_email.
CREATE TABLE resident_tokens (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    resident_id TEXT NOT NULL REFERENCES residents (id),
    purpose     TEXT NOT NULL,
    new_email   TEXT,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX resident_tokens_by_resident ON resident_tokens (resident_id);

CREATE TABLE resident_sessions (
    token_hash   TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    resident_id  TEXT NOT NULL REFERENCES residents (id),
    -- 'second_factor' between a right password and a right code.
    stage        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX resident_sessions_by_resident ON resident_sessions (resident_id);

-- A bill account (type + reference) a resident proved they pay. Several
-- residents may link one account (a household).
CREATE TABLE resident_links (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    resident_id   TEXT NOT NULL REFERENCES residents (id),
    bill_type_id  TEXT NOT NULL REFERENCES bill_types (id),
    reference_key TEXT NOT NULL,
    reference     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (resident_id, bill_type_id, reference_key)
);

CREATE INDEX resident_links_by_account ON resident_links (tenant_id, bill_type_id, reference_key);

-- One standing instruction per bill account, whoever in the household set
-- it, so an account is never paid twice by two enrolments.
CREATE TABLE autopay_enrolments (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    resident_id   TEXT NOT NULL REFERENCES residents (id),
    bill_type_id  TEXT NOT NULL REFERENCES bill_types (id),
    reference_key TEXT NOT NULL,
    card_token    TEXT NOT NULL,
    card_label    TEXT NOT NULL,
    cap           BIGINT NOT NULL CHECK (cap > 0),
    currency      TEXT NOT NULL,
    -- Bills due before this date (in the city's time zone) are not paid.
    start_date    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, bill_type_id, reference_key)
);

CREATE INDEX autopay_enrolments_by_resident ON autopay_enrolments (tenant_id, resident_id);

-- One row per bill autopay took on: the primary key is what makes a bill
-- paid by autopay at most once, however many runners race.
CREATE TABLE autopay_runs (
    bill_id         TEXT PRIMARY KEY REFERENCES bills (id),
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    resident_id     TEXT NOT NULL REFERENCES residents (id),
    status          TEXT NOT NULL,
    claimed_by      TEXT,
    claimed_at      BIGINT,
    bill_payment_id TEXT,
    detail          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE INDEX autopay_runs_by_status ON autopay_runs (status, created_at);

-- E-mails about a bill already sent to a resident (new bill, reminder).
CREATE TABLE resident_mail_log (
    resident_id TEXT NOT NULL REFERENCES residents (id),
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (resident_id, kind, subject_id)
);

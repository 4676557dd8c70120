-- Where the city's back office is told of each payment credited to a bill
-- (its city file's back_office_webhook); NULL: nobody is told. Each notice
-- waits in back_office_notices until the back office takes it.
ALTER TABLE tenants ADD COLUMN back_office_webhook TEXT;

CREATE TABLE back_office_notices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT
);

CREATE INDEX back_office_notices_due ON back_office_notices (tenant_id, delivered_at, next_attempt_at);

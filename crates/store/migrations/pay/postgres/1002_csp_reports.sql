-- Content-Security-Policy violation reports sent by browsers about the card
-- page: the sign of an injected script or stylesheet.

CREATE TABLE csp_reports (
    id                 TEXT PRIMARY KEY,
    received_at        BIGINT NOT NULL,
    document_uri       TEXT NOT NULL,
    violated_directive TEXT NOT NULL,
    blocked_uri        TEXT NOT NULL,
    report             TEXT NOT NULL
);

CREATE INDEX csp_reports_by_time ON csp_reports (received_at);

-- Every e-mail the portal sent (or tried to send) to an address of a
-- city's residents, so staff helping a resident can see what reached them.
CREATE TABLE resident_mail_sent (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email     TEXT NOT NULL,
    subject   TEXT NOT NULL,
    sent_at   BIGINT NOT NULL,
    delivered BIGINT NOT NULL
);

CREATE INDEX resident_mail_sent_by_address ON resident_mail_sent (tenant_id, email, sent_at);

-- A city's look on its pages: an accent colour (#rrggbb, checked for
-- contrast before it is stored) and a logo, re-encoded as PNG by the
-- portal. The tenant row names the logo by its digest so pages can link
-- it without reading its bytes; the bytes are read only when asked for.
ALTER TABLE tenants ADD COLUMN accent_colour TEXT;
ALTER TABLE tenants ADD COLUMN logo_digest TEXT;
CREATE TABLE tenant_logos (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    digest TEXT NOT NULL,
    png BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Convenience fees. A city's policy (the GL code fees post to, whether a
-- refund returns them) is one JSON value, NULL for a city that charges
-- none; a bill type's rules by channel are another, '{}' for none.
ALTER TABLE tenants ADD COLUMN fees TEXT;
ALTER TABLE bill_types ADD COLUMN fees TEXT NOT NULL DEFAULT '{}';

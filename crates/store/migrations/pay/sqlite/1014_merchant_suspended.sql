-- A paused city: pay takes no new payment for it (1), while captures,
-- refunds and reads go on.
ALTER TABLE merchants ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0;

-- A city whose payments the platform has paused: when (microseconds since
-- the epoch), NULL while it takes payments.
ALTER TABLE tenants ADD COLUMN suspended_at BIGINT;

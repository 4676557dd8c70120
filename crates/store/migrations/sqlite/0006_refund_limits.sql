-- What one member of staff may refund in a city day without a second
-- person; NULL: no daily limit, only the per-payment threshold.
ALTER TABLE tenants ADD COLUMN refund_daily_limit_per_staff BIGINT;

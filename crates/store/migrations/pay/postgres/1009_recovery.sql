-- Reconciliation sweeps every payment and refund that waits on the
-- acquirer. A sweeping instance claims a row until a time (so two
-- instances never act on it at once, and a crashed one's claim lapses);
-- a row that cannot be settled is flagged for a person.

ALTER TABLE payments ADD COLUMN recovery_claimed_until BIGINT;
ALTER TABLE payments ADD COLUMN attention_reason TEXT;
ALTER TABLE payments ADD COLUMN attention_at BIGINT;

ALTER TABLE refunds ADD COLUMN recovery_claimed_until BIGINT;
ALTER TABLE refunds ADD COLUMN attention_reason TEXT;
ALTER TABLE refunds ADD COLUMN attention_at BIGINT;

CREATE INDEX refunds_by_status ON refunds (status, updated_at);

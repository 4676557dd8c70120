-- The convenience fee included in a payment's amount: its amount (minor
-- units, 0 for none), the GL code it posts to, and whether a refund
-- returns it (1) or the city keeps it (0).
ALTER TABLE payments ADD COLUMN fee_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN fee_gl_code TEXT;
ALTER TABLE payments ADD COLUMN fee_refundable INTEGER NOT NULL DEFAULT 0;

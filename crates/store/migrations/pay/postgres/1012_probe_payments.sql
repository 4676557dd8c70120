-- The tamper monitor's probes are payments like any other, so a tampered
-- page cannot tell them apart, but they can never be charged and no report
-- or listing shows them.
ALTER TABLE payments ADD COLUMN probe INTEGER NOT NULL DEFAULT 0;

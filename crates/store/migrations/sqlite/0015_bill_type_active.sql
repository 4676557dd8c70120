-- A bill type residents are no longer offered (1 offered, 0 not; BIGINT
-- 0/1 as elsewhere, since the Any driver decodes no SQLite BOOLEAN). Its
-- bills, payments and staff's access stay.
ALTER TABLE bill_types ADD COLUMN active BIGINT NOT NULL DEFAULT 1;

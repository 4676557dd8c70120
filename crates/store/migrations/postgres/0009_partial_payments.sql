-- Partial payments. A bill type that takes them holds its minimum part as
-- one JSON value; NULL for a type whose bills are paid whole.
ALTER TABLE bill_types ADD COLUMN partial TEXT;

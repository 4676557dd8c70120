-- A part of each bill autopay pays, where the bill's type takes parts
-- (minor units, the enrolment's currency); NULL pays the whole balance.
ALTER TABLE autopay_enrolments ADD COLUMN part BIGINT CHECK (part IS NULL OR part > 0);

-- The languages a city's residents may choose (a JSON list of codes, the
-- default among them); NULL for a city made before it could say, which
-- offers all three.
ALTER TABLE tenants ADD COLUMN languages TEXT;

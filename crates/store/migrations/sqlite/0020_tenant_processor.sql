-- The card processor and account that take the city's payments (its city
-- file's [processor] table), as JSON; NULL: the deployment's acquirer. No
-- secret is ever here: pay seals the processor's secrets in its own
-- database with the city's key-encryption key.
ALTER TABLE tenants ADD COLUMN processor TEXT;

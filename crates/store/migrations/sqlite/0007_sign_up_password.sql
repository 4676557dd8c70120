-- Each sign-up's verification link carries the password chosen with it:
-- whoever confirms from the mailbox gets their own password, never one a
-- stranger typed for the same address.
ALTER TABLE resident_tokens ADD COLUMN password_hash TEXT;

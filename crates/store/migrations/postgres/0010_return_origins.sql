-- The sites besides the portal that a city's payments may return to, from
-- its city file: a JSON array of origins, '[]' for none. Kept here, not in
-- each process's configuration, so serve, jobs and the CLI agree.
ALTER TABLE tenants ADD COLUMN return_origins TEXT NOT NULL DEFAULT '[]';

-- Keys of the platform that runs this deployment (the portal's operator
-- console): the only callers that may register a city or pause it. Only a
-- hash of each key is kept.
CREATE TABLE platform_keys (
    key_hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

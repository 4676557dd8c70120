-- Velocity limits on the card page (per client address, per card
-- fingerprint), counted in the database so every instance shares them.

CREATE TABLE rate_limit_hits (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Second factor (TOTP, RFC 6238). One row per person who started enrolment: the secret
-- is sealed under the master key (like the Omie credentials), `confirmed_at` says when it
-- began to count. `last_step` is the last 30-s step accepted: a code is taken by a
-- conditional UPDATE that only succeeds for a later step, so a code cannot be replayed
-- even by two requests at once. `failures` counts wrong codes in a row; the fifth locks
-- the factor until `locked_until`.
CREATE TABLE mfa_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- Single-use recovery codes, stored as SHA-256 only (each holds 50 random bits and is
-- useless once the factor is locked or used).
CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

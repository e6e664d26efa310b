-- Single-use links sent by e-mail. Only the SHA-256 of each token is stored.

-- "Esqueci minha senha": valid one hour, once.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);

-- Invitations: valid 72 hours, once; can be resent (a new token) or revoked.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL COLLATE NOCASE,
    company_id  TEXT REFERENCES companies (id),
    role        TEXT NOT NULL
                CHECK (role IN ('staff', 'company_admin', 'company_user')),
    invited_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at  TEXT,
    CHECK ((role = 'staff') = (company_id IS NULL))
);
CREATE INDEX invitations_by_company ON invitations (company_id);
CREATE INDEX invitations_by_email ON invitations (email);

-- Applications (the owner's integrations), their client secrets (hashes only; two may
-- be active at once for rotation), their links to companies with scopes, and the
-- bearer tokens they get from the client-credentials grant.
CREATE TABLE applications (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    client_id    TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    last_used_at TEXT
);

CREATE TABLE application_secrets (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    secret_hash    TEXT NOT NULL UNIQUE,
    hint           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);
CREATE INDEX application_secrets_by_app ON application_secrets (application_id);

CREATE TABLE application_links (
    application_id TEXT NOT NULL REFERENCES applications (id),
    company_id     TEXT NOT NULL REFERENCES companies (id),
    scopes         TEXT NOT NULL,
    granted_by     TEXT NOT NULL,
    granted_at     TEXT NOT NULL,
    last_credentials_read_at TEXT,
    PRIMARY KEY (application_id, company_id)
);
CREATE INDEX application_links_by_company ON application_links (company_id);

CREATE TABLE app_tokens (
    token_hash     TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    secret_id      TEXT NOT NULL REFERENCES application_secrets (id),
    scope          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX app_tokens_by_app ON app_tokens (application_id);

-- Foundation schema: companies, users, sessions, API tokens, setup links, audit trail.
-- Timestamps are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.ffffffZ) so that
-- text order is time order and range filters can use indexes.

CREATE TABLE companies (
    id           TEXT PRIMARY KEY,
    legal_name   TEXT NOT NULL,
    trade_name   TEXT NOT NULL DEFAULT '',
    cnpj         TEXT NOT NULL UNIQUE,
    contact_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'suspended', 'archived')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- Lists are ordered by legal name and paged by (legal_name, id) keyset cursors.
CREATE INDEX companies_by_name ON companies (legal_name, id);
CREATE INDEX companies_by_status_name ON companies (status, legal_name, id);

-- Substring search over names and CNPJ that stays fast at 100,000 rows:
-- a trigram index kept in step with the table by triggers.
CREATE VIRTUAL TABLE companies_fts USING fts5 (
    legal_name, trade_name, cnpj,
    content = 'companies', content_rowid = 'rowid',
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, legal_name, trade_name, cnpj)
    VALUES (new.rowid, new.legal_name, new.trade_name, new.cnpj);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, legal_name, trade_name, cnpj)
    VALUES ('delete', old.rowid, old.legal_name, old.trade_name, old.cnpj);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF legal_name, trade_name, cnpj ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, legal_name, trade_name, cnpj)
    VALUES ('delete', old.rowid, old.legal_name, old.trade_name, old.cnpj);
    INSERT INTO companies_fts (rowid, legal_name, trade_name, cnpj)
    VALUES (new.rowid, new.legal_name, new.trade_name, new.cnpj);
END;

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    company_id      TEXT REFERENCES companies (id),
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role            TEXT NOT NULL
                    CHECK (role IN ('owner', 'staff', 'company_admin', 'company_user')),
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('pending', 'active', 'disabled', 'anonymized')),
    password_hash   TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    last_failed_at  TEXT,
    last_login_at   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- platform users belong to no company; company users always to one
    CHECK ((role IN ('owner', 'staff')) = (company_id IS NULL))
);
CREATE INDEX users_by_company ON users (company_id);

-- Server-side sessions: the cookie holds a random id, the table only its SHA-256.
CREATE TABLE sessions (
    id_hash             TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          TEXT NOT NULL,
    last_seen_at        TEXT NOT NULL,
    absolute_expires_at TEXT NOT NULL,
    ip                  TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Opaque bearer tokens, stored as SHA-256 only.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- One-time links that let the first person create the owner account.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    used_at    TEXT
);

-- Append-only, hash-chained audit trail. `hash` is an HMAC over the row and the
-- previous row's hash, keyed from the master key, so a row changed, removed or
-- slipped in breaks the chain.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'application', 'system')),
    actor_id    TEXT,
    actor_label TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL DEFAULT '',
    entity_id   TEXT,
    company_id  TEXT,
    ip          TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_company ON audit_log (company_id, id);
CREATE INDEX audit_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE INDEX audit_by_at ON audit_log (at);

-- The chain's head, so that cutting rows off the end is detected too.
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    mac       TEXT NOT NULL
);

-- Keys for the audit chain and form tokens, sealed under the master key so that
-- rotating the master key re-seals them instead of changing them.
CREATE TABLE sealed_keys (
    name   TEXT PRIMARY KEY,
    sealed TEXT NOT NULL
);

-- A company's current Omie credentials, both values sealed (AEAD, bound to the company).
CREATE TABLE omie_credentials (
    company_id          TEXT PRIMARY KEY REFERENCES companies (id),
    app_key_sealed      TEXT NOT NULL,
    app_secret_sealed   TEXT NOT NULL,
    -- HMAC of the pair: tells "same keys" apart without opening them.
    fingerprint         TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by          TEXT NOT NULL DEFAULT '',
    validated_at        TEXT,
    validation_status   TEXT,
    validation_message  TEXT,
    validated_fingerprint TEXT
);

-- Every rotation, without the old values.
CREATE TABLE omie_credential_history (
    id          INTEGER PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id),
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    app_key_hint TEXT NOT NULL
);
CREATE INDEX omie_credential_history_by_company ON omie_credential_history (company_id, id);

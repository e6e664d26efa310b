-- LGPD requests (Art. 18): a person asks for access, correction, erasure, portability or
-- information about sharing; the controller answers within 15 days (Art. 19, II).
-- `message` and `reason` are free text written by the person and the owner (personal
-- data: erased with the person). `reminded_on` is the São Paulo day of the last reminder
-- mailed to the owners, so the daily reminder goes once per request per day.
CREATE TABLE privacy_requests (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    company_id  TEXT,
    kind        TEXT NOT NULL
                CHECK (kind IN ('access', 'correction', 'erasure', 'portability', 'information')),
    message     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'refused')),
    created_at  TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    reminded_on TEXT
);
CREATE INDEX privacy_requests_by_status ON privacy_requests (status, due_at);
CREATE INDEX privacy_requests_by_user ON privacy_requests (user_id, created_at);

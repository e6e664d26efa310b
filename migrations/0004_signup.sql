-- Sign-up and approval.
-- A refused person keeps a row (status 'disabled', rejected_at set) so they can be told
-- why at sign-in; the reason the owner typed is kept with it.
ALTER TABLE users ADD COLUMN rejected_at TEXT;
ALTER TABLE users ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX users_by_status ON users (status);

-- Someone asked to join with a CNPJ that is not registered yet: the owner may accept
-- (creating the company, with the person as its admin) or refuse.
CREATE TABLE company_requests (
    id              TEXT PRIMARY KEY,
    cnpj            TEXT NOT NULL,
    requester_name  TEXT NOT NULL,
    requester_email TEXT NOT NULL COLLATE NOCASE,
    password_hash   TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'accepted', 'refused')),
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    decided_at      TEXT,
    decided_by      TEXT
);
CREATE INDEX company_requests_by_status ON company_requests (status, created_at);

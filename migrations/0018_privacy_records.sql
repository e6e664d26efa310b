-- LGPD records (issue 11, items 7 and 8).
-- Which version of the privacy notice a person accepted, and when. A sign-up for a CNPJ
-- not registered yet has no account yet: its record names the request instead (and the
-- account once the request is accepted). `ip` is an access record: the retention job
-- blanks it after the access-record period.
CREATE TABLE notice_acceptances (
    id             INTEGER PRIMARY KEY,
    user_id        TEXT,
    request_id     TEXT,
    notice_version TEXT NOT NULL,
    context        TEXT NOT NULL CHECK (context IN ('signup', 'invitation')),
    accepted_at    TEXT NOT NULL,
    ip             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notice_acceptances_by_user ON notice_acceptances (user_id);
CREATE INDEX notice_acceptances_by_request ON notice_acceptances (request_id);

-- Security incidents (Res. CD/ANPD 15/2024): every one is recorded, reported or not,
-- and kept at least 5 years. `known_on` is the São Paulo day the controller learned of it.
CREATE TABLE incidents (
    id                  TEXT PRIMARY KEY,
    known_on            TEXT NOT NULL,
    summary             TEXT NOT NULL,
    data_affected       TEXT NOT NULL,
    people_affected     TEXT NOT NULL,
    risk                TEXT NOT NULL CHECK (risk IN ('low', 'relevant')),
    measures            TEXT NOT NULL DEFAULT '',
    anpd_notified_on    TEXT,
    subjects_notified_on TEXT,
    communication       TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX incidents_by_known ON incidents (known_on DESC);

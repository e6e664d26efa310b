-- Who of the platform wants which mail (DESIGN §8.4). A person with no row has the
-- defaults: changes daily, the rest immediate.
CREATE TABLE notify_prefs (
    user_id    TEXT PRIMARY KEY,
    security   TEXT NOT NULL CHECK (security IN ('immediate', 'daily', 'off')),
    approvals  TEXT NOT NULL CHECK (approvals IN ('immediate', 'daily', 'off')),
    changes    TEXT NOT NULL CHECK (changes IN ('immediate', 'daily', 'off')),
    system     TEXT NOT NULL CHECK (system IN ('immediate', 'daily', 'off')),
    updated_at TEXT NOT NULL
);
-- Audit rows waiting for a person's daily digest (ids only: the words are rendered
-- from the trail when the digest goes out).
CREATE TABLE notify_digest (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT NOT NULL,
    audit_id   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notify_digest_user ON notify_digest (user_id, id);
-- An immediate mail still held in the outbox, which repeats of the same action on the
-- same item for the same person join instead of queueing another.
CREATE TABLE notify_bundle (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    outbox_id  INTEGER NOT NULL,
    audit_ids  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notify_bundle_key ON notify_bundle (user_id, action, entity, id);

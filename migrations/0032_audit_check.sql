-- Issue 14: `CHECK (actor_type IN ('user', 'application', 'system'))` made SQLite build a
-- temporary b-tree of the three values for every row it inserted (OpenEphemeral and
-- three inserts into it): about 2 µs of every audited write, on the writer's thread, which
-- every other write waits for. The same rule written with `=` and `OR` is three
-- comparisons. SQLite cannot change a CHECK in place, so the table is rebuilt: same
-- columns, same rows with the same ids (the chain's hashes cover the values, not the
-- page layout), same indexes.
CREATE TABLE audit_log_rebuilt (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_type  TEXT NOT NULL
                CHECK (actor_type = 'user' OR actor_type = 'application' OR actor_type = 'system'),
    actor_id    TEXT,
    actor_label TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL DEFAULT '',
    entity_id   TEXT,
    company_id  TEXT,
    ip          TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    facts           TEXT NOT NULL DEFAULT '{}',
    personal_salt   TEXT NOT NULL DEFAULT '',
    personal_commit TEXT NOT NULL DEFAULT '',
    erased_by       INTEGER
);
INSERT INTO audit_log_rebuilt (id, at, actor_type, actor_id, actor_label, action, entity_type,
    entity_id, company_id, ip, details, prev_hash, hash, facts, personal_salt,
    personal_commit, erased_by)
SELECT id, at, actor_type, actor_id, actor_label, action, entity_type,
    entity_id, company_id, ip, details, prev_hash, hash, facts, personal_salt,
    personal_commit, erased_by
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;
CREATE INDEX audit_by_company ON audit_log (company_id, id);
CREATE INDEX audit_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE INDEX audit_by_at ON audit_log (at);

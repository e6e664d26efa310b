-- One row per backup run, kept after its file is pruned (the history stays readable).
CREATE TABLE backups (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('manual', 'scheduled')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    -- What a running backup is doing now: snapshot, check, encrypt, verify, copy, prune.
    phase        TEXT NOT NULL DEFAULT 'start',
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    file_name    TEXT,
    size_bytes   INTEGER,
    db_bytes     INTEGER,
    sha256       TEXT,
    duration_ms  INTEGER,
    verified     INTEGER NOT NULL DEFAULT 0,
    -- rclone destination the file was copied to, and how that went (NULL: no remote).
    remote        TEXT,
    remote_status TEXT CHECK (remote_status IN ('copied', 'failed')),
    remote_error  TEXT,
    -- A stable code the pages translate, and the technical detail (never a secret).
    error_code   TEXT,
    error        TEXT,
    requested_by TEXT,
    pruned_at    TEXT
);
CREATE INDEX backups_by_start ON backups (started_at DESC);

-- Settings the owner changes on the dashboard; the environment and the config file win.
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Alert conditions: a mail goes out when one starts and when it clears.
CREATE TABLE alerts (
    kind       TEXT PRIMARY KEY,
    active     INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);

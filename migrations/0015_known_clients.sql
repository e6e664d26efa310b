-- Where each person has signed in successfully from: client addresses and browsers (a
-- long-lived device cookie, kept as its SHA-256 only). The sign-in throttle lets a known
-- client of an account through that account's lock-out, and a sign-in from a client
-- that is neither mails the person.
CREATE TABLE known_clients (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('ip', 'device')),
    value    TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, value)
);

-- Sign-ins from before this table: their addresses come from the history, so an upgrade
-- does not greet everyone with a "new sign-in" e-mail.
INSERT OR IGNORE INTO known_clients (user_id, kind, value, first_at, last_at)
SELECT actor_id, 'ip', ip, MIN(at), MAX(at) FROM audit_log
WHERE action = 'auth.login' AND actor_type = 'user' AND ip <> ''
  AND actor_id IN (SELECT id FROM users)
GROUP BY actor_id, ip;

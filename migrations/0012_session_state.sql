-- Page sessions now go through actix-session. What a session holds beyond its person
-- (for instance when the last second-factor code was given, for step-up) is kept here as
-- a JSON object of JSON-encoded values. The person, the address and the browser stay in
-- their own columns, so a person's sessions can still be listed and ended by user_id.
ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT '{}';

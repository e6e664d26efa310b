-- The mailer gives up on a message after a bounded number of attempts (or at once when
-- the server refuses it for good); such a dead letter stays until someone retries it.
ALTER TABLE outbox ADD COLUMN gave_up_at TEXT;

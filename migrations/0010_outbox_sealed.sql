-- Bodies of queued mail are sealed under the master key (they carry reset and
-- invitation links until sent); rows from before stay readable as they were.
ALTER TABLE outbox ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

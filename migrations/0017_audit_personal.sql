-- Audit rows whose personal part can be erased without breaking the chain (LGPD).
-- The chain (`hash`) now covers what happened (`action`, entity, company, actor id,
-- `facts`: non-personal details) and `personal_commit`, a keyed hash of the personal
-- part (`actor_label`, `ip`, `details`) salted with `personal_salt`. Erasing a person
-- overwrites the personal part and the salt and sets `erased_by` to the id of the
-- `privacy.*` row that did it, whose `facts` hold a digest of the rows it erased.
-- Rows written before this migration are re-chained by the program at start-up, after
-- the old chain is verified (it holds the key); the `audit.rechain` row records that.
ALTER TABLE audit_log ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';
ALTER TABLE audit_log ADD COLUMN personal_salt TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN personal_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN erased_by INTEGER;

-- Who sent each invitation, so it can die with the sender's right to invite (a disabled
-- account, a role change, a suspended or archived company) and acceptance can re-check it.
-- NULL: sent by the system (the command line). Older rows are matched by the sender's
-- e-mail, which `invited_by` held.
ALTER TABLE invitations ADD COLUMN invited_by_user_id TEXT;
UPDATE invitations
   SET invited_by_user_id = (SELECT id FROM users WHERE users.email = invitations.invited_by);
CREATE INDEX invitations_by_sender ON invitations (invited_by_user_id);

-- Issue 12: the overview's attention list counts through indexes, not table scans.
-- Credentials whose last test failed.
CREATE INDEX omie_credentials_by_validation ON omie_credentials (validation_status);
-- Open invitations by when they expire ("vencem nas próximas 48 horas").
CREATE INDEX invitations_open_by_expiry ON invitations (expires_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
-- Queued mail by age ("e-mail parado na fila").
CREATE INDEX outbox_pending_by_age ON outbox (created_at)
    WHERE status = 'pending' AND gave_up_at IS NULL;

-- The base URL the links of a queued message were made with: the mailer rewrites them
-- with the base URL in force when it sends (OTM_BASE_URL may change while mail waits).
ALTER TABLE outbox ADD COLUMN link_base TEXT;

-- The vendor's logo (a small PNG or JPEG, never SVG), shown in the portal and e-mails.
-- One row; the name and the first-steps facts live in app_settings.
CREATE TABLE vendor_logo (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    bytes        BLOB NOT NULL,
    hash         TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

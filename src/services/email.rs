//! E-mail use cases that are actions of their own (the rest queue mail as part of
//! another change).

use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, audit, outbox};
use crate::domain::{Email, Role};
use crate::email::{self, TestMessage};
use crate::error::AppError;
use crate::time;

fn owner_only(actor: &Actor) -> Result<(), AppError> {
    if actor.role() == Some(Role::Owner) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Queues a test message to `to` (the owner checks the SMTP settings with it).
pub fn send_test(
    conn: &mut Connection,
    keys: &Keys,
    actor: &Actor,
    to: &str,
    base_url: &str,
) -> Result<(), AppError> {
    owner_only(actor)?;
    let to = Email::parse(to).map_err(|m| AppError::field("to", m))?;
    let requested_by = actor.label();
    let mail = TestMessage {
        base_url: base_url.to_string(),
        requested_by,
    }
    .to_outgoing(to.as_str(), "Teste de e-mail do Omie Tenant Manager".into())?;
    db::write(conn, |tx| {
        let now = time::now_db();
        let id = email::queue(tx, &keys.ring, &mail, &now)?;
        let mut entry = actor.entry("email.test", "email", Some(&id.to_string()));
        entry.details = json!({ "to": to.as_str() });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
}

/// What the settings page shows about the queue.
pub fn queue_state(
    conn: &Connection,
    actor: &Actor,
) -> Result<(i64, Vec<outbox::Queued>), AppError> {
    owner_only(actor)?;
    Ok((outbox::pending_count(conn)?, outbox::recent(conn, 20)?))
}

//! E-mail use cases that are actions of their own (the rest queue mail as part of
//! another change).

/// The rows this use case answers with, for the interfaces.
pub use crate::db::outbox::Queued;

use crate::db::Conn;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, audit, outbox};
use crate::domain::{Email, Role};
use crate::email::{self, TestMessage};
use crate::error::AppError;
use crate::time;

/// The mail settings are the owner's. Staff know the page exists and are refused it,
/// as with the backup settings and the recovery kit (403); anyone else learns nothing.
fn owner_only(actor: &Actor) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => Ok(()),
        Some(Role::Staff) => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

/// Queues a test message to `to` (the owner checks the SMTP settings with it).
pub fn send_test(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    to: &str,
    base_url: &str,
) -> Result<i64, AppError> {
    owner_only(actor)?;
    let to = Email::parse(to).map_err(|m| AppError::field("to", m))?;
    let requested_by = actor.label();
    let mail = TestMessage {
        base_url: base_url.to_string(),
        requested_by,
    }
    .to_outgoing(
        to.as_str(),
        format!("Teste de e-mail do {}", crate::services::vendor::panel()),
    )?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_to = to.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let to = &w_to;
        let now = time::now_db();
        let id = email::queue(tx, &keys.ring, &mail, &now)?;
        let mut entry = actor.entry(Action::EmailTest, "email", Some(&id.to_string()));
        entry.details = json!({ "to": to.as_str() });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(id)
    })
}

/// What the settings page shows about the queue.
pub struct QueueState {
    pub pending: i64,
    /// Messages the mailer gave up on.
    pub dead: i64,
    pub recent: Vec<outbox::Queued>,
    /// Where alerts go when `OTM_ALERT_EMAILS` is not set.
    pub owners: Vec<String>,
}

pub fn queue_state(conn: &Connection, actor: &Actor) -> Result<QueueState, AppError> {
    owner_only(actor)?;
    Ok(QueueState {
        pending: outbox::pending_count(conn)?,
        dead: outbox::dead_count(conn)?,
        recent: outbox::recent(conn, 20)?,
        owners: crate::db::users::owner_emails(conn)?,
    })
}

/// Gives the dead letters a new round of attempts (after the owner fixed the address or
/// the mail server); the alert clears once none is left. Returns how many.
pub fn retry_dead(
    conn: &mut Conn,
    keys: &Keys,
    settings: &crate::config::Settings,
    actor: &Actor,
) -> Result<usize, AppError> {
    owner_only(actor)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let n = db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        let n = outbox::retry_dead(tx, &now)?;
        let mut entry = actor.entry(Action::EmailRetry, "email", None);
        entry.details = json!({ "messages": n });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(n)
    })?;
    super::alerts::evaluate(conn, keys, settings, &None)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ActorKind;

    fn person(role: Role) -> Actor {
        Actor {
            kind: ActorKind::User {
                id: "usr_1".into(),
                email: "p@example.com.br".into(),
                role,
                company_id: None,
            },
            ip: String::new(),
        }
    }

    #[test]
    fn staff_are_forbidden_the_owners_mail_settings_and_others_find_nothing() {
        assert!(owner_only(&person(Role::Owner)).is_ok());
        assert!(matches!(
            owner_only(&person(Role::Staff)),
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            owner_only(&person(Role::CompanyAdmin)),
            Err(AppError::NotFound)
        ));
    }
}

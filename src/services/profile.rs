//! A person's own account: sessions, ending the others.

use crate::db::Conn;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, audit, sessions};
use crate::error::AppError;
use crate::time;

pub use super::sessions::Access;

fn me(actor: &Actor) -> Result<&str, AppError> {
    actor.user_id().ok_or(AppError::Forbidden)
}

/// The person's sessions and API tokens; `current` (the SHA-256 of this session's key)
/// is marked.
pub fn sessions(conn: &Connection, actor: &Actor, current: &str) -> Result<Access, AppError> {
    let id = me(actor)?;
    Ok(super::sessions::list(conn, actor, id, Some(current))?.1)
}

/// Ends every session of the person but this one (`current`, the SHA-256 of its key),
/// and revokes their API tokens.
pub fn end_other_sessions(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    current: &str,
) -> Result<usize, AppError> {
    let id = me(actor)?.to_string();
    let forget = id.clone();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_current = current.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let current = &w_current;
        let now = time::now_db();
        let n = sessions::delete_for_user(tx, &id, Some(current))?;
        crate::db::tokens::revoke_for_user(tx, &id, &now)?;
        let mut entry = actor.entry(Action::UserSessionsEnded, "user", Some(&id));
        entry.company_id = actor.company_id().map(str::to_string);
        entry.details = json!({ "sessions": n });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(n)
    })
    .inspect(|_| keys.hot.forget_user(&forget))
}

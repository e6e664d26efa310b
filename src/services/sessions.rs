//! A person's ways in — page sessions and API tokens — listed, ended one by one, or all
//! at once ("sign out everywhere").
//!
//! Who may: the person themselves (on "Minha conta"), and whoever may manage the person
//! (`users::changeable`, DESIGN §5): the owner for anyone, staff for company people but
//! not for platform accounts (403). Every ending is audited in its transaction.
//!
//! Sessions and tokens are named on pages by a *handle*: a hash of the row's id (itself
//! the SHA-256 of the key), so a page never shows what the database holds.

use crate::db::Conn;
use crate::db::Tx;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::crypto::sha256_hex;
use crate::db::users::User;
use crate::db::{self, audit, sessions, tokens};
use crate::domain::Action;
use crate::domain::device;
use crate::error::AppError;
use crate::time;

/// One page session, for a list.
pub struct SessionInfo {
    pub handle: String,
    /// Browser and system in words ("Firefox no Linux").
    pub device: String,
    pub user_agent: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    /// The session of the request that asks.
    pub current: bool,
}

/// One live API token of a person, for a list.
pub struct TokenInfo {
    pub handle: String,
    pub created: String,
    pub expires: String,
}

/// A person's live sessions and tokens.
pub struct Access {
    pub sessions: Vec<SessionInfo>,
    pub tokens: Vec<TokenInfo>,
}

/// What [`end_one`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A page session; `current` when it was the asking request's own.
    Session {
        current: bool,
    },
    Token,
    /// Nothing: ended already (or never there).
    Nothing,
}

fn session_handle(id_hash: &str) -> String {
    format!(
        "s{}",
        &sha256_hex(format!("session:{id_hash}").as_bytes())[..32]
    )
}

fn token_handle(token_hash: &str) -> String {
    format!(
        "t{}",
        &sha256_hex(format!("token:{token_hash}").as_bytes())[..32]
    )
}

/// The person whose access `actor` may see and end: oneself, or someone they manage.
fn target(conn: &Connection, actor: &Actor, user_id: &str) -> Result<User, AppError> {
    super::users::changeable(conn, actor, user_id)
}

/// `user_id`'s live sessions (newest use first) and tokens; `current` (the SHA-256 of
/// the asking request's session key) is marked.
pub fn list(
    conn: &Connection,
    actor: &Actor,
    user_id: &str,
    current: Option<&str>,
) -> Result<(User, Access), AppError> {
    let u = target(conn, actor, user_id)?;
    let sessions = sessions::list_for_user(conn, &u.id)?
        .into_iter()
        .map(|(hash, created, seen, ip, ua)| SessionInfo {
            handle: session_handle(&hash),
            device: device::describe(&ua),
            user_agent: ua,
            ip,
            created: time::db_to_br(&created),
            last_seen: time::db_to_br(&seen),
            current: Some(hash.as_str()) == current,
        })
        .collect();
    let tokens = tokens::live_for_user(conn, &u.id, &time::now_db())?
        .into_iter()
        .map(|(hash, created, expires)| TokenInfo {
            handle: token_handle(&hash),
            created: time::db_to_br(&created),
            expires: time::db_to_br(&expires),
        })
        .collect();
    Ok((u, Access { sessions, tokens }))
}

/// Ends one session or token of `user_id`, named by its handle. Ending what is already
/// gone is no error ([`Ended::Nothing`]): the page that showed it was simply old.
pub fn end_one(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    user_id: &str,
    handle: &str,
    current: Option<&str>,
) -> Result<Ended, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_user_id = user_id.to_owned();
    let w_handle = handle.to_owned();
    let current = current.map(str::to_owned);
    db::write(conn, move |tx| {
        let current = current.as_deref();
        let keys = &w_keys;
        let actor = &w_actor;
        let user_id = &w_user_id;
        let handle = &w_handle;
        let u = target(tx, actor, user_id)?;
        let now = time::now_db();
        let session = sessions::list_for_user(tx, &u.id)?
            .into_iter()
            .find(|(hash, ..)| session_handle(hash) == *handle);
        if let Some((hash, _, _, ip, ua)) = session {
            sessions::delete(tx, &hash)?;
            let mut entry = actor.entry(Action::SessionEnd, "user", Some(&u.id));
            entry.company_id = u.company_id.clone();
            entry.details = json!({ "device": device::describe(&ua), "ip": ip });
            audit::append(tx, &keys.audit, &now, &entry)?;
            return Ok(Ended::Session {
                current: Some(hash.as_str()) == current,
            });
        }
        let token = tokens::live_for_user(tx, &u.id, &now)?
            .into_iter()
            .find(|(hash, ..)| token_handle(hash) == *handle);
        if let Some((hash, created, _)) = token {
            tokens::revoke(tx, &hash, &now)?;
            let mut entry = actor.entry(Action::SessionTokenRevoke, "user", Some(&u.id));
            entry.company_id = u.company_id.clone();
            entry.details = json!({ "created_at": created });
            audit::append(tx, &keys.audit, &now, &entry)?;
            return Ok(Ended::Token);
        }
        Ok(Ended::Nothing)
    })
    .inspect(|_| keys.hot.forget_user(user_id))
}

/// Ends every session and token of `user_id` (checked as in [`list`]); returns how many
/// sessions and tokens ended.
pub fn end_all(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    user_id: &str,
) -> Result<(usize, usize), AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_user_id = user_id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let user_id = &w_user_id;
        let u = target(tx, actor, user_id)?;
        sign_out_everywhere(tx, keys, actor, &u)
    })
    .inspect(|_| keys.hot.forget_user(user_id))
}

/// "Sign out everywhere", in the caller's transaction and without a permission check
/// (the caller decided): every page session and API token of `u` ends, audited. For
/// use cases that must cut a person off (a reset second factor, a reset password).
pub fn sign_out_everywhere(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    u: &User,
) -> Result<(usize, usize), AppError> {
    let now = time::now_db();
    let n_sessions = sessions::delete_for_user(tx, &u.id, None)?;
    let n_tokens = tokens::revoke_for_user(tx, &u.id, &now)?;
    let mut entry = actor.entry(Action::SessionEndAll, "user", Some(&u.id));
    entry.company_id = u.company_id.clone();
    entry.details = json!({ "sessions": n_sessions, "tokens": n_tokens });
    audit::append(tx, &keys.audit, &now, &entry)?;
    Ok((n_sessions, n_tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_differ_by_kind_and_reveal_no_row_id() {
        let h = session_handle("abc");
        assert!(h.starts_with('s') && h.len() == 33 && !h.contains("abc"));
        assert_ne!(h[1..], token_handle("abc")[1..]);
    }
}

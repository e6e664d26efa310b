//! First start: the one-time setup link and creating the owner account.

use crate::db::Conn;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys, auth};
use crate::crypto::{new_id, new_token, sha256_hex};
use crate::db::{self, audit, setup, users};
use crate::domain::{Email, Password, Role, UserStatus, required_text};
use crate::error::{AppError, FieldError};
use crate::time;

/// When no owner exists yet, makes a fresh setup link (older unused ones stop working)
/// and returns its token; `None` once the owner exists.
pub fn ensure_link(conn: &mut Conn, keys: &Keys) -> Result<Option<String>, AppError> {
    let w_keys = keys.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        if users::owner_exists(tx)? {
            return Ok(None);
        }
        let token = new_token();
        let now = time::now_db();
        setup::replace(tx, &sha256_hex(token.as_bytes()), &now)?;
        let entry = Actor::system().entry(Action::SetupLinkIssue, "setup", None);
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(Some(token))
    })
}

pub fn link_is_usable(conn: &Connection, token: &str) -> Result<bool, AppError> {
    Ok(!users::owner_exists(conn)? && setup::is_usable(conn, &sha256_hex(token.as_bytes()))?)
}

pub struct OwnerInput<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub password_confirm: Option<&'a str>,
}

fn validate(input: &OwnerInput<'_>) -> Result<(String, Email, Password), AppError> {
    let mut errors = Vec::new();
    let name = required_text(input.name, 120, "Informe seu nome.")
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let email = Email::parse(input.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = Password::parse(input.password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    if let Some(confirm) = input.password_confirm
        && password.is_some()
        && confirm != input.password
    {
        errors.push(FieldError::new(
            "password_confirm",
            "As duas senhas não são iguais.",
        ));
    }
    match (name, email, password) {
        (Some(n), Some(e), Some(p)) if errors.is_empty() => Ok((n, e, p)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Creates the owner. With a setup token, the token must be unused and is consumed in
/// the same transaction; without one (the `admin create` command) only the machine's
/// operator can call this.
pub fn create_owner(
    pool: &crate::db::Pool,
    keys: &Keys,
    ip: &str,
    token: Option<&str>,
    input: &OwnerInput<'_>,
    bcrypt_cost: u32,
) -> Result<users::User, AppError> {
    // Nobody is signed in yet: the system acts, from where the request came.
    let actor = Actor::system_at(ip);
    let (name, email, password) = validate(input)?;
    // Hash before taking the write lock: bcrypt takes a quarter second on purpose.
    // No connection is held during bcrypt.
    let hash = auth::hash_password(&password, bcrypt_cost)?;
    let w_keys = keys.to_owned();
    let token_hash = token.map(|t| sha256_hex(t.as_bytes()));
    let via = if token.is_some() {
        "setup_link"
    } else {
        "command_line"
    };
    let actor = actor.clone();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let actor = &actor;
        let now = time::now_db();
        if let Some(t) = &token_hash
            && (users::owner_exists(tx)? || !setup::consume(tx, t, &now)?)
        {
            return Err(AppError::NotFound);
        }
        if users::by_email(tx, email.as_str())?.is_some() {
            return Err(AppError::Conflict(vec![FieldError::new(
                "email",
                "Já existe uma conta com este e-mail.",
            )]));
        }
        let id = new_id("usr");
        users::insert(
            tx,
            &users::NewUser {
                id: &id,
                company_id: None,
                name: &name,
                email: email.as_str(),
                role: Role::Owner,
                status: UserStatus::Active,
                password_hash: Some(&hash),
            },
            &now,
        )?;
        let mut entry = actor.entry(Action::UserCreate, "user", Some(&id));
        entry.details = json!({ "role": "owner", "email": email.as_str(), "name": name,
                                "via": via });
        audit::append(tx, &keys.audit, &now, &entry)?;
        users::get(tx, &id)?.ok_or(AppError::NotFound)
    })
}

/// Why a setup link no longer opens: the owner exists already, or it is not the latest
/// link printed.
pub fn gone_link(conn: &Connection) -> Result<super::mailed_links::GoneLink, AppError> {
    use super::mailed_links::GoneLink;
    Ok(if users::owner_exists(conn)? {
        GoneLink::SetupDone
    } else {
        GoneLink::SetupUnknown
    })
}

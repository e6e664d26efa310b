//! The clients a person has signed in from, and what a sign-in from a new one does.
//!
//! A client is an address, or a browser's device cookie (`otm_device`, 256 random bits
//! set at every successful page sign-in and kept here as its SHA-256). A known client
//! gets past its account's throttle budget (`throttle::sign_in_keys`); a sign-in from a
//! client that is neither a known device nor a known address e-mails the person (not the
//! first sign-in ever: there is nothing to compare it with).

use chrono::Duration;
use rusqlite::Connection;

use super::Keys;
use super::throttle::SignInClient;
use crate::crypto::sha256_hex;
use crate::db::known_clients::{self as store, DEVICE, IP};
use crate::db::users::User;
use crate::email::{self, NewSignInMessage};
use crate::error::AppError;
use crate::time;

/// How long a successful sign-in from an address lets that address past the account's
/// budget.
pub const KNOWN_IP_DAYS: i64 = 90;
/// How long a client is remembered at all (for the "new sign-in" e-mail).
pub const FORGET_AFTER_DAYS: i64 = 400;

/// What the interface knows of the client that signs in.
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub ip: &'a str,
    /// The device cookie's value, when the interface has one (pages do).
    pub device: Option<&'a str>,
    pub user_agent: &'a str,
}

/// A [`Client`] that owns its text, for a write job (which must own what it uses).
#[derive(Clone, Debug)]
pub struct OwnedClient {
    pub ip: String,
    pub device: Option<String>,
    pub user_agent: String,
}

impl Client<'_> {
    pub fn owned(&self) -> OwnedClient {
        OwnedClient {
            ip: self.ip.to_string(),
            device: self.device.map(str::to_string),
            user_agent: self.user_agent.to_string(),
        }
    }
}

impl OwnedClient {
    pub fn client(&self) -> Client<'_> {
        Client {
            ip: &self.ip,
            device: self.device.as_deref(),
            user_agent: &self.user_agent,
        }
    }
}

fn device_hash(device: &str) -> String {
    sha256_hex(device.as_bytes())
}

/// Whether the device cookie's value is one we could have set (43 URL-safe characters).
pub fn well_formed_device(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How the throttle sees `client` trying `user`'s password.
pub fn classify(
    conn: &Connection,
    user_id: &str,
    client: &Client<'_>,
) -> Result<SignInClient, AppError> {
    let ever = time::to_db(time::now() - Duration::days(FORGET_AFTER_DAYS));
    if let Some(d) = client.device.filter(|d| well_formed_device(d)) {
        let h = device_hash(d);
        if store::known_since(conn, user_id, DEVICE, &h, &ever)? {
            return Ok(SignInClient::KnownDevice(h));
        }
    }
    let recent = time::to_db(time::now() - Duration::days(KNOWN_IP_DAYS));
    if store::known_since(conn, user_id, IP, client.ip, &recent)? {
        return Ok(SignInClient::KnownIp);
    }
    Ok(SignInClient::Unknown)
}

/// After a successful sign-in, inside its transaction: e-mails the person when the
/// client is new to them, and remembers the client. `via` says which door ("page",
/// "api"). Returns whether a mail was queued.
pub fn signed_in(
    tx: &Connection,
    keys: &Keys,
    base_url: &str,
    user: &User,
    client: &Client<'_>,
    now: &str,
) -> Result<bool, AppError> {
    let ever = time::to_db(time::now() - Duration::days(FORGET_AFTER_DAYS));
    let device = client
        .device
        .filter(|d| well_formed_device(d))
        .map(device_hash);
    let known_device = match &device {
        Some(h) => store::known_since(tx, &user.id, DEVICE, h, &ever)?,
        None => false,
    };
    let known_ip = store::known_since(tx, &user.id, IP, client.ip, &ever)?;
    let new = !known_device && !known_ip && store::any(tx, &user.id)?;
    if new {
        let m = NewSignInMessage {
            name: user.name.clone(),
            when: time::db_to_br(now),
            device: crate::domain::device::describe(client.user_agent),
            ip: client.ip.to_string(),
            link: format!("{base_url}/login"),
        }
        .to_outgoing(
            &user.email,
            format!(
                "Novo acesso à sua conta no {}",
                crate::services::vendor::panel()
            ),
        )?;
        email::queue(tx, &keys.ring, &m, now)?;
    }
    if !client.ip.is_empty() {
        store::remember(tx, &user.id, IP, client.ip, now)?;
    }
    if let Some(h) = &device {
        store::remember(tx, &user.id, DEVICE, h, now)?;
    }
    Ok(new)
}

/// Housekeeping: forgets clients not seen for [`FORGET_AFTER_DAYS`].
pub fn purge(conn: &Connection) -> Result<usize, AppError> {
    let cutoff = time::to_db(time::now() - Duration::days(FORGET_AFTER_DAYS));
    Ok(store::forget_before(conn, &cutoff)?)
}

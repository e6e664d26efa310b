//! Use cases. Every interface calls these; they check permissions, validate, write,
//! and record the audit row in the same transaction. They are synchronous: callers run
//! them off the async executor (see [`crate::db::run`]).

pub mod alerts;
pub mod app;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod cnpj_lookup;
pub mod companies;
pub mod company_index;
pub mod data_rights;
pub mod email;
pub mod erasure;
pub mod health;
pub mod history;
pub mod hot;
pub mod keys;
pub mod known_clients;
pub mod mail_settings;
pub mod mailed_links;
pub mod mfa;
pub mod notify;
pub mod omie;
pub mod overview;
pub mod privacy;
pub mod profile;
pub mod proxy;
pub mod retention;
pub mod sessions;
pub mod setup;
pub mod summary;
pub mod throttle;
pub mod tls_cert;
pub mod usage;
pub mod users;
pub mod vendor;

use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;

use crate::crypto::key_bytes;
use crate::db::audit::NewEntry;
use crate::db::omie_credentials;
use crate::domain::{Action, Role};
use crate::keyring::Keyring;

/// The keyring that seals secrets, and one key per purpose. The purpose keys are
/// random, kept sealed in the database, so rotating the master key re-seals them
/// without changing them (the audit chain stays verifiable).
#[derive(Clone)]
pub struct Keys {
    pub ring: Arc<Keyring>,
    pub audit: [u8; 32],
    pub csrf: [u8; 32],
    pub fingerprint: [u8; 32],
    /// Encrypts the page-session cookie (actix-session's private cookie); kept in the
    /// database like the others, so sessions survive a restart and a key rotation.
    pub session_cookie: [u8; 32],
    /// The hot-path caches ([`hot`]): here because every use case that writes has the
    /// keys, so each change that ends access can invalidate before it answers.
    pub hot: Arc<hot::Hot>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn data_key(
    pool: &crate::db::Pool,
    ring: &Keyring,
    name: &str,
    initial: impl FnOnce() -> [u8; 32],
) -> anyhow::Result<[u8; 32]> {
    let aad = format!("data-key:{name}");
    if omie_credentials::sealed_key(&*pool.get()?, name)?.is_none() {
        let sealed = ring.seal(&aad, &initial());
        let key_name = name.to_string();
        // Another process may have won the race: the first stored key stays.
        crate::db::write(pool, move |tx| {
            tx.execute(
                "INSERT INTO sealed_keys (name, sealed) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                rusqlite::params![key_name, sealed],
            )?;
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("cannot store the {name} key: {e:?}"))?;
    }
    let sealed =
        omie_credentials::sealed_key(&*pool.get()?, name)?.context("sealed key vanished")?;
    let raw = ring.open(&aad, &sealed).map_err(|e| {
        anyhow::anyhow!("cannot open the {name} key ({e}): is this the right master key file?")
    })?;
    raw.try_into()
        .map_err(|_| anyhow::anyhow!("the {name} key is damaged"))
}

impl Keys {
    pub fn load(ring: Arc<Keyring>, conn: &crate::db::Pool) -> anyhow::Result<Self> {
        // Databases from before key rotation keyed the audit chain with the first
        // master key's subkey: keep using it so old chains still verify.
        let legacy_audit = ring.legacy_derive("audit-chain");
        let audit = data_key(conn, &ring, "audit", || {
            legacy_audit.unwrap_or_else(key_bytes::<32>)
        })?;
        let csrf = data_key(conn, &ring, "csrf", key_bytes::<32>)?;
        let fingerprint = data_key(conn, &ring, "fingerprint", key_bytes::<32>)?;
        let session_cookie = data_key(conn, &ring, "session-cookie", key_bytes::<32>)?;
        Ok(Self {
            ring,
            audit,
            csrf,
            fingerprint,
            session_cookie,
            hot: Arc::default(),
        })
    }
}

/// Who is acting, as established by the interface from the authenticated principal.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub ip: String,
}

#[derive(Clone, Debug)]
pub enum ActorKind {
    User {
        id: String,
        email: String,
        role: Role,
        company_id: Option<String>,
    },
    /// An application with a client-credentials token, and the scopes granted to that
    /// token at issue (space-separated; every check is token scope ∩ link scope).
    Application {
        id: String,
        client_id: String,
        scope: String,
        /// Set once the call this actor makes has reached the meter, so the edge can
        /// count the calls no use case counted (see `usage::Meter`).
        metered: CallMark,
    },
    System,
}

/// Whether one application call has been counted; clones share it.
#[derive(Clone, Debug, Default)]
pub struct CallMark(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CallMark {
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Actor {
    /// An application acting with a token that grants `scope`.
    pub fn application(id: String, client_id: String, scope: String, ip: String) -> Self {
        Self {
            kind: ActorKind::Application {
                id,
                client_id,
                scope,
                metered: CallMark::default(),
            },
            ip,
        }
    }

    pub fn system() -> Self {
        Self::system_at("")
    }

    /// The system acting on a request nobody signed in for (a sign-in, a sign-up, a
    /// single-use link), or on the command line: from where it came.
    pub fn system_at(ip: &str) -> Self {
        Self {
            kind: ActorKind::System,
            ip: ip.to_string(),
        }
    }

    /// Platform-only use cases: anyone else gets 404, like an object of another tenant.
    pub fn platform_only(&self) -> Result<(), crate::error::AppError> {
        if self.is_platform() {
            Ok(())
        } else {
            Err(crate::error::AppError::NotFound)
        }
    }

    pub fn is_platform(&self) -> bool {
        match &self.kind {
            ActorKind::User { role, .. } => role.is_platform(),
            ActorKind::Application { .. } => false,
            ActorKind::System => true,
        }
    }

    /// The company a company user belongs to; `None` for platform users and the system.
    pub fn company_id(&self) -> Option<&str> {
        match &self.kind {
            ActorKind::User { company_id, .. } => company_id.as_deref(),
            ActorKind::Application { .. } | ActorKind::System => None,
        }
    }

    /// The signed-in person's id, if a person acts.
    pub fn user_id(&self) -> Option<&str> {
        match &self.kind {
            ActorKind::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// True when the actor is the person `user_id`.
    pub fn is_user(&self, user_id: &str) -> bool {
        self.user_id() == Some(user_id)
    }

    /// How the actor is named in the audit trail and in e-mails: the person's e-mail,
    /// the application's client id, or "sistema".
    pub fn label(&self) -> String {
        match &self.kind {
            ActorKind::User { email, .. } => email.clone(),
            ActorKind::Application { client_id, .. } => client_id.clone(),
            ActorKind::System => "sistema".to_string(),
        }
    }

    /// The application behind an API token, if that is who acts.
    pub fn application_id(&self) -> Option<&str> {
        match &self.kind {
            ActorKind::Application { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The mark of an application's call (none for people and the system).
    pub fn call_mark(&self) -> Option<&CallMark> {
        match &self.kind {
            ActorKind::Application { metered, .. } => Some(metered),
            _ => None,
        }
    }

    /// Whether the actor's token carries `scope`: an application's token carries the
    /// scopes granted when it was issued; people and the system are not limited by scopes.
    pub fn token_grants(&self, scope: &str) -> bool {
        match &self.kind {
            ActorKind::Application { scope: granted, .. } => granted.split(' ').any(|s| s == scope),
            _ => true,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.kind {
            ActorKind::User { role, .. } => Some(*role),
            ActorKind::Application { .. } | ActorKind::System => None,
        }
    }

    /// An audit entry for this actor; the caller fills in what happened.
    pub fn entry(
        &self,
        action: Action,
        entity_type: &'static str,
        entity_id: Option<&str>,
    ) -> NewEntry {
        let (actor_type, actor_id) = match &self.kind {
            ActorKind::User { id, .. } => ("user", Some(id.clone())),
            ActorKind::Application { id, .. } => ("application", Some(id.clone())),
            ActorKind::System => ("system", None),
        };
        let actor_label = self.label();
        NewEntry {
            actor_type,
            actor_id,
            actor_label,
            action: action.as_str(),
            entity_type,
            entity_id: entity_id.map(str::to_string),
            company_id: None,
            ip: self.ip.clone(),
            details: Value::Object(Default::default()),
            facts: Value::Null,
        }
    }
}

/// One page of a list and the opaque cursor of the next, if there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// From `limit + 1` rows fetched: `more` says whether a next page exists.
    pub fn new(items: Vec<T>, more: bool, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Reads an opaque list cursor as typed; empty means the first page.
pub fn parse_cursor(raw: Option<&str>) -> Result<Option<(String, String)>, crate::error::AppError> {
    match raw.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => crate::db::keyset::decode(c)
            .map(Some)
            .ok_or_else(|| crate::error::AppError::field("cursor", "invalid cursor")),
    }
}

//! Use cases. Every interface calls these; they check permissions, validate, write,
//! and record the audit row in the same transaction. They are synchronous: callers run
//! them off the async executor (see [`crate::db::run`]).

pub mod audit;
pub mod auth;
pub mod companies;
pub mod email;
pub mod links;
pub mod setup;
pub mod throttle;
pub mod users;

use serde_json::Value;

use crate::crypto::MasterKey;
use crate::db::audit::NewEntry;
use crate::domain::Role;

/// Keys derived from the master key, one per purpose.
#[derive(Clone)]
pub struct Keys {
    pub audit: [u8; 32],
    pub csrf: [u8; 32],
}

impl Keys {
    pub fn from_master(k: &MasterKey) -> Self {
        Self {
            audit: k.derive("audit-chain"),
            csrf: k.derive("csrf-form-token"),
        }
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
    System,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            ip: String::new(),
        }
    }

    pub fn is_platform(&self) -> bool {
        match &self.kind {
            ActorKind::User { role, .. } => role.is_platform(),
            ActorKind::System => true,
        }
    }

    /// The company a company user belongs to; `None` for platform users and the system.
    pub fn company_id(&self) -> Option<&str> {
        match &self.kind {
            ActorKind::User { company_id, .. } => company_id.as_deref(),
            ActorKind::System => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.kind {
            ActorKind::User { role, .. } => Some(*role),
            ActorKind::System => None,
        }
    }

    /// An audit entry for this actor; the caller fills in what happened.
    pub fn entry(
        &self,
        action: &'static str,
        entity_type: &'static str,
        entity_id: Option<&str>,
    ) -> NewEntry {
        let (actor_type, actor_id, actor_label) = match &self.kind {
            ActorKind::User { id, email, .. } => ("user", Some(id.clone()), email.clone()),
            ActorKind::System => ("system", None, "sistema".to_string()),
        };
        NewEntry {
            actor_type,
            actor_id,
            actor_label,
            action,
            entity_type,
            entity_id: entity_id.map(str::to_string),
            company_id: None,
            ip: self.ip.clone(),
            details: Value::Object(Default::default()),
        }
    }
}

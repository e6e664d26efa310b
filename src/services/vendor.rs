//! The vendor's own name and logo (the business that runs this dashboard), shown in the
//! portal's header, the e-mails and the privacy notice instead of the product's name, so
//! a client company sees who it works with. Set by the owner on the settings page.
//!
//! Both are read where no connection is at hand (templates, audit labels), so the values
//! in force are kept in this process's memory: loaded at start ([`refresh`]) and again
//! after every save, in the same process that saved them.

use crate::db::Conn;
use std::sync::RwLock;

use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, app_settings, audit, vendor as store};
use crate::domain::{Action, Role};
use crate::error::{AppError, FieldError};
use crate::time;

/// The product's own name, used until the owner sets theirs.
pub const PRODUCT_NAME: &str = "Omie Tenant Manager";
pub const NAME_KEY: &str = "vendor_name";
/// The largest logo accepted: small enough for a header and an e-mail.
pub const LOGO_MAX_BYTES: usize = 100 * 1024;

#[derive(Clone, Default)]
struct Cached {
    name: Option<String>,
    logo_hash: Option<String>,
}

static CACHE: RwLock<Cached> = RwLock::new(Cached {
    name: None,
    logo_hash: None,
});

fn cached() -> Cached {
    CACHE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The vendor's name, or the product's until one is set.
pub fn vendor_name() -> String {
    cached().name.unwrap_or_else(|| PRODUCT_NAME.to_string())
}

/// How sentences name the dashboard: "o painel de <vendor>" once a name is set (so
/// "no painel de Contabilidade Silva"), the product's name until then.
pub fn panel() -> String {
    match cached().name {
        Some(n) => format!("painel de {n}"),
        None => PRODUCT_NAME.to_string(),
    }
}

/// The name the owner typed, if any (the settings form shows it).
pub fn configured_name() -> String {
    cached().name.unwrap_or_default()
}

/// The logo's content hash (its URL is `/marca/{hash}`), when there is a logo.
pub fn logo_hash() -> Option<String> {
    cached().logo_hash
}

/// Reads the name and the logo's hash from the database into memory.
pub fn refresh(conn: &Connection) -> Result<(), AppError> {
    let name = app_settings::get(conn, NAME_KEY)?.filter(|n| !n.trim().is_empty());
    let logo_hash = store::logo_hash(conn)?;
    *CACHE.write().unwrap_or_else(|e| e.into_inner()) = Cached { name, logo_hash };
    Ok(())
}

/// The logo under `hash` (an old hash finds nothing: its URL changed with the logo).
pub fn logo(conn: &Connection, hash: &str) -> Result<store::Logo, AppError> {
    store::logo(conn)?
        .filter(|l| l.hash == hash)
        .ok_or(AppError::NotFound)
}

/// What kind of image `bytes` are, by their first bytes (never by the name or the type
/// the browser sent): PNG or JPEG. SVG (a document that can carry scripts), GIF, WebP and
/// anything else are refused.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// What the owner sent (no `Debug`: the logo may be large).
#[derive(Clone, Default)]
pub struct VendorInput {
    pub name: String,
    /// A new logo file, when one was chosen.
    pub logo: Option<Vec<u8>>,
    pub remove_logo: bool,
}

/// Checks and stores the vendor's name and logo; audited (with the logo's hash and size,
/// never its bytes). The values in memory change once the transaction commits.
pub fn update(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    input: &VendorInput,
) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => {}
        Some(Role::Staff) => return Err(AppError::Forbidden),
        _ => return Err(AppError::NotFound),
    }
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.chars().count() > 80 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "vendor_name",
            "O nome pode ter até 80 caracteres, sem quebras de linha. Deixe em branco para usar \"Omie Tenant Manager\".",
        ));
    }
    let logo = match &input.logo {
        Some(bytes) if bytes.len() > LOGO_MAX_BYTES => {
            errors.push(FieldError::new(
                "logo",
                format!(
                    "O logotipo tem {} KB; o máximo é {} KB. Reduza a imagem e envie de novo.",
                    bytes.len().div_ceil(1024),
                    LOGO_MAX_BYTES / 1024
                ),
            ));
            None
        }
        Some(bytes) => match image_type(bytes) {
            Some(ct) => Some(store::Logo {
                content_type: ct.to_string(),
                hash: crate::crypto::sha256_hex(bytes)[..16].to_string(),
                bytes: bytes.clone(),
            }),
            None => {
                errors.push(FieldError::new(
                    "logo",
                    "O logotipo precisa ser uma imagem PNG ou JPEG (SVG não é aceito).",
                ));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_input = input.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let input = &w_input;
        let now = time::now_db();
        app_settings::set(tx, NAME_KEY, &name, &now)?;
        let logo_change = if let Some(l) = &logo {
            store::set_logo(tx, l, &now)?;
            json!({ "hash": l.hash, "bytes": l.bytes.len(), "type": l.content_type })
        } else if input.remove_logo {
            store::remove_logo(tx)?;
            json!("removed")
        } else {
            json!("kept")
        };
        let mut entry = actor.entry(Action::VendorSettingsUpdate, "settings", Some("vendor"));
        entry.details = json!({ "name": name, "logo": logo_change });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    refresh(conn)
}

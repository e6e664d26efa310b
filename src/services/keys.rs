//! Master key rotation.

use crate::db::Conn;
use crate::domain::Action;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, audit, omie_credentials as store};
use crate::error::AppError;
use crate::time;

/// Adds a new master key to the key file, then re-seals every sealed value under it in
/// one transaction. Old keys stay in the file (older backups need them), so a crash in
/// between leaves everything readable. Returns (new key id, values re-sealed).
pub fn rotate(conn: &mut Conn, keys: &Keys) -> Result<(u32, usize), AppError> {
    let id = keys.ring.add_key()?;
    let w_keys = keys.to_owned();
    let resealed = db::write(conn, move |tx| {
        let keys = &w_keys;
        let mut n = 0;
        let reseal = |aad: &str, sealed: &str| -> Result<String, AppError> {
            let clear = keys.ring.open(aad, sealed).map_err(|e| {
                AppError::Internal(anyhow::anyhow!("cannot open a sealed value ({aad}): {e}"))
            })?;
            Ok(keys.ring.seal(aad, &clear))
        };
        for (company_id, key, secret) in store::all_sealed(tx)? {
            let new_key = reseal(&format!("omie:{company_id}:app_key"), &key)?;
            let new_secret = reseal(&format!("omie:{company_id}:app_secret"), &secret)?;
            store::reseal(tx, &company_id, &new_key, &new_secret)?;
            n += 2;
        }
        n += super::mfa::reseal_all(tx, &reseal)?;
        for (name, sealed) in store::all_sealed_keys(tx)? {
            store::put_sealed_key(tx, &name, &reseal(&format!("data-key:{name}"), &sealed)?)?;
            n += 1;
        }
        let now = time::now_db();
        let mut entry = Actor::system_at("command line").entry(
            Action::KeyRotate,
            "master_key",
            Some(&id.to_string()),
        );
        entry.details = json!({ "key_id": id, "resealed": n });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(n)
    })?;
    Ok((id, resealed))
}

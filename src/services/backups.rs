//! Backup use cases for the dashboard and the API: start one, read the history,
//! download a file, change the schedule, and see the recovery kit.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::backups::Backup;

use crate::db::Conn;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::json;

use super::app::App;
use super::{Actor, ActorKind, Keys};
use crate::backup::{self, Policy, RunLock, remote, schedule};
use crate::config::Settings;
use crate::db::{self, app_settings, audit, backups, keyset, users};
use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::time;

/// Downloads, settings and the recovery kit are the owner's (staff may not restore).
fn owner_only(actor: &Actor) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => Ok(()),
        Some(Role::Staff) => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

pub fn list(
    conn: &Connection,
    actor: &Actor,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<backups::Backup>, Option<String>), AppError> {
    actor.platform_only()?;
    let after = match cursor {
        Some(c) => Some(keyset::decode(c).ok_or_else(|| {
            AppError::field(
                "cursor",
                "Cursor inválido: use o next_cursor da página anterior.",
            )
        })?),
        None => None,
    };
    let mut rows = backups::list(
        conn,
        after.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
        limit + 1,
    )?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|b| keyset::encode(&b.started_at, &b.id))
    } else {
        None
    };
    Ok((rows, next))
}

pub fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<backups::Backup, AppError> {
    actor.platform_only()?;
    backups::get(conn, id)?.ok_or(AppError::NotFound)
}

/// Records a manual backup and takes the lock; the caller runs [`backup::execute`].
pub fn start(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
) -> Result<(RunLock, backups::Backup), AppError> {
    actor.platform_only()?;
    backup::begin(conn, keys, settings, actor, "manual")
}

/// The file of a good backup, opened, for the owner to download; audited before it
/// leaves (and only once it is open, so a file pruned meanwhile is a 404, not a row).
pub fn download(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
    id: &str,
) -> Result<(std::fs::File, u64, String), AppError> {
    owner_only(actor)?;
    let b = backups::get(conn, id)?.ok_or(AppError::NotFound)?;
    let name = b
        .file_name
        .filter(|_| b.status == crate::domain::BackupStatus::Succeeded && b.pruned_at.is_none())
        .ok_or(AppError::NotFound)?;
    let path = backup::dir(settings).join(&name);
    let file = std::fs::File::open(&path).map_err(|_| AppError::NotFound)?;
    let len = file
        .metadata()
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?
        .len();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_name = name.clone();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let now = time::now_db();
        let mut entry = actor.entry(Action::BackupDownload, "backup", Some(id));
        entry.details = json!({ "file": w_name });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    Ok((file, len, name))
}

pub struct PolicyInput {
    pub times: String,
    pub retention_days: String,
    pub remote: String,
}

/// Stores the owner's schedule, retention and remote (those the environment sets stay).
pub fn update_policy(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
    input: &PolicyInput,
) -> Result<Policy, AppError> {
    owner_only(actor)?;
    let mut errors = Vec::new();
    let times = schedule::parse_times(&input.times)
        .map(|ts| {
            ts.iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .map_err(|_| {
            errors.push(FieldError::new(
                "times",
                "Informe um ou mais horários no formato HH:MM, separados por vírgula (por exemplo 03:00,15:00).",
            ))
        });
    let retention = input
        .retention_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| {
            errors.push(FieldError::new(
                "retention_days",
                "Informe quantos dias guardar, de 1 a 3650.",
            ))
        });
    let remote = input.remote.trim().to_string();
    if !remote.is_empty() && (remote.len() > 500 || remote::validate(&remote).is_err()) {
        errors.push(FieldError::new(
            "remote",
            "Informe o nome de um destino criado com rclone config e uma pasta, como gdrive:omie-backups (as senhas ficam na configuração do rclone, não aqui).",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (Ok(times), Ok(retention)) = (times, retention) else {
        return Err(AppError::Validation(errors));
    };
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let actor = &w_actor;
        let now = time::now_db();
        let old = Policy::load(tx, settings)?;
        let mut changed = Vec::new();
        for (key, value) in [
            (backup::SETTING_TIMES, times.clone()),
            (backup::SETTING_RETENTION, retention.to_string()),
            (backup::SETTING_REMOTE, remote.clone()),
        ] {
            if !settings.explicit.contains(&key) {
                app_settings::set(tx, key, &value, &now)?;
                changed.push(key);
            }
        }
        let new = Policy::load(tx, settings)?;
        let mut entry = actor.entry(Action::BackupSettingsUpdate, "settings", Some("backup"));
        // The remote may be an rclone connection string: record only that it changed.
        entry.details = json!({
            "times": new.times_text,
            "retention_days": new.retention_days,
            "remote_changed": old.remote != new.remote,
            "stored": changed,
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(new)
    })
}

/// "Testar destino": writes and deletes a tiny file on the off-site destination in
/// force, on the blocking pool without holding a connection. `Ok(Err(detail))` is a
/// failed test (rclone's words); audited either way.
pub fn test_remote(app: &App, actor: &Actor) -> Result<Result<String, String>, AppError> {
    owner_only(actor)?;
    let policy = crate::backup::Policy::load(&*app.pool.get()?, &app.settings)?;
    let Some(remote) = policy.remote else {
        return Err(AppError::field(
            "remote",
            "Nenhum destino de cópia externa configurado: informe um destino e salve antes de testar.",
        ));
    };
    let result = crate::backup::remote::probe(&remote, &app.settings.data_dir)
        .map(|()| remote.clone())
        .map_err(|e| e.to_string());
    let w_actor = actor.to_owned();
    let keys = app.keys.clone();
    let ok = result.is_ok();
    db::write(app.pool.writer(), move |tx| {
        let actor = &w_actor;
        let now = time::now_db();
        let mut entry = actor.entry(Action::BackupRemoteTest, "settings", Some("backup_remote"));
        entry.details = serde_json::json!({ "remote": remote, "ok": ok });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    if let Err(e) = &result {
        tracing::warn!(error = %e, "backup destination test failed");
    }
    Ok(result)
}

/// The master key lines and the backup identities, after the owner typed the password
/// again. Audited. Wrong passwords are throttled like sign-ins (an attempt is reserved
/// before bcrypt), so a stolen session cannot guess the password here at bcrypt speed.
pub fn recovery_kit(app: &App, actor: &Actor, password: &str) -> Result<RecoveryKit, AppError> {
    let (keys, settings) = (&app.keys, &app.settings);
    owner_only(actor)?;
    let ActorKind::User { id, .. } = &actor.kind else {
        return Err(AppError::NotFound);
    };
    let throttle_key = format!("recovery-kit:{id}");
    app.throttle
        .reserve(&[&throttle_key])
        .map_err(|retry_after_secs| AppError::Throttled { retry_after_secs })?;
    let u = users::get(&*app.pool.get()?, id)?.ok_or(AppError::NotFound)?;
    // No connection is held during bcrypt.
    let matches = super::auth::password_matches(&u, password);
    if matches {
        app.throttle.clear(&throttle_key);
    }
    let conn = &mut app.pool.get()?;
    if !matches {
        let w_actor = actor.to_owned();
        let keys = keys.clone();
        db::write(conn, move |tx| {
            let actor = &w_actor;
            let now = time::now_db();
            let entry = actor.entry(
                Action::BackupRecoveryKitDenied,
                "settings",
                Some("master_key"),
            );
            audit::append(tx, &keys.audit, &now, &entry)?;
            Ok(())
        })?;
        return Err(AppError::field(
            "password",
            "A senha não confere. Digite a senha com que você entra no painel.",
        ));
    }
    let key_file = std::fs::read_to_string(&settings.master_key_file)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("read master key")))?;
    let w_actor = actor.to_owned();
    let w_keys = keys.clone();
    db::write(conn, move |tx| {
        let actor = &w_actor;
        let keys = &w_keys;
        let now = time::now_db();
        let entry = actor.entry(Action::BackupRecoveryKit, "settings", Some("master_key"));
        audit::append(tx, &keys.audit, &now, &entry)?;
        // The first-steps checklist ticks "kit de recuperação" from this fact.
        super::overview::record_fact(tx, super::overview::FACT_RECOVERY_KIT)?;
        Ok(())
    })?;
    Ok(RecoveryKit {
        key_file,
        identities: keys.ring.backup_identities(),
        key_path: settings.master_key_file.display().to_string(),
        made_at: time::now_db(),
    })
}

pub struct RecoveryKit {
    pub key_file: String,
    pub identities: Vec<(u32, String)>,
    pub key_path: String,
    pub made_at: String,
}

impl std::fmt::Debug for RecoveryKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKit(..)")
    }
}

/// What the overview and the backups page show about the state of things.
pub struct Summary {
    pub policy: Policy,
    pub last_good: Option<backups::Backup>,
    pub running: Option<backups::Backup>,
    pub alerts: Vec<app_settings::AlertState>,
}

pub fn summary(conn: &Connection, settings: &Settings, actor: &Actor) -> Result<Summary, AppError> {
    actor.platform_only()?;
    Ok(Summary {
        policy: Policy::load(conn, settings)?,
        last_good: backups::last_good(conn)?,
        running: backups::running(conn)?,
        alerts: app_settings::alerts(conn)?
            .into_iter()
            .filter(|a| a.active)
            .collect(),
    })
}

//! Alerts: conditions worth an e-mail to `OTM_ALERT_EMAILS` (or the owners). Each is
//! recomputed from the stored state; a mail goes out only when one starts or clears,
//! in the same transaction that records the change, so a restart repeats nothing.

use crate::db::Conn;
use crate::db::Tx;
use crate::domain::Action;
use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::config::Settings;
use crate::db::{self, app_settings, audit, backups, users};
use crate::email::{self, AlertMessage};
use crate::error::AppError;
use crate::time;

/// How old the newest good backup may get before it is a problem.
pub const STALE_AFTER_HOURS: i64 = 26;
/// The moment the schedule started counting (a new install has no backup yet).
pub const ANCHOR: &str = "backup_schedule_anchor";

pub struct Condition {
    pub kind: &'static str,
    pub active: bool,
    pub detail: String,
}

/// The result of the live database's own check, when one was run this time.
pub type Integrity = Option<Result<(), String>>;

fn label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "backup_failed" => (
            "o último backup falhou",
            "abra a página de backups, veja o erro e clique em \"Fazer backup agora\" para tentar de novo.",
        ),
        "remote_failed" => (
            "a cópia do backup para fora do servidor falhou",
            "o arquivo ficou guardado no servidor; confira o destino (OTM_BACKUP_REMOTE) e a configuração do rclone.",
        ),
        "backup_stale" => (
            "não há backup válido nas últimas 26 horas",
            "confira se o servidor está no ar e faça um backup agora pela página de backups.",
        ),
        "db_integrity" => (
            "a verificação de integridade do banco de dados falhou",
            "não apague nada; faça um backup agora e peça ajuda técnica. O README explica como restaurar.",
        ),
        "audit_chain" => (
            "a cadeia da trilha de auditoria está quebrada",
            "alguém alterou, apagou ou inseriu registros direto no banco de dados. Não apague nada: faça um backup agora, abra a página Auditoria para ver o registro e chame quem cuida do servidor.",
        ),
        "mail_dead" => (
            "há e-mails que não puderam ser enviados",
            "abra Configurações, veja o erro de cada e-mail e, depois de corrigir o endereço ou o servidor de e-mail, clique em \"Tentar de novo\".",
        ),
        "health_backups" => (
            "o arquivo do último backup sumiu do servidor",
            "abra a página de backups e clique em \"Fazer backup agora\"; depois descubra quem apagou o arquivo.",
        ),
        "health_mail" => (
            "os e-mails estão parados na fila",
            "abra Configurações → E-mail, confira o servidor de e-mail e envie um e-mail de teste.",
        ),
        "health_disk" => (
            "o espaço livre em disco está no fim",
            "libere espaço no servidor ou aumente o disco: com o disco cheio, o banco de dados e os backups param.",
        ),
        "health_jobs" => (
            "uma tarefa de fundo parou de dar sinal de vida",
            "reinicie o serviço (systemctl restart omie-tenant-manager) e, se voltar a acontecer, peça ajuda técnica com o log do servidor.",
        ),
        "health_omie" => (
            "muitas chamadas ao Omie estão falhando",
            "confira se o Omie está no ar e se o servidor acessa a internet; se só uma empresa falha, teste as credenciais dela.",
        ),
        "health_database" => (
            "o banco de dados precisa de atenção",
            "abra Saúde do sistema e siga o que a página diz.",
        ),
        "health_tls" => (
            "o certificado HTTPS do painel está vencendo ou venceu",
            "no servidor, rode sudo certbot renew e depois sudo systemctl reload nginx; abra Saúde do sistema para conferir.",
        ),
        _ => ("um alerta", "abra o painel."),
    }
}

/// Computes every condition from the database (and the live check, if any ran).
pub fn conditions(
    conn: &Connection,
    settings: &Settings,
    integrity: &Integrity,
) -> Result<Vec<Condition>, AppError> {
    let now = time::now();
    let mut out = Vec::new();
    let last = backups::last_finished(conn)?;
    out.push(Condition {
        kind: "backup_failed",
        active: last
            .as_ref()
            .is_some_and(|b| b.status == crate::domain::BackupStatus::Failed),
        detail: last
            .as_ref()
            .filter(|b| b.status == crate::domain::BackupStatus::Failed)
            .map(|b| b.error.clone().unwrap_or_default())
            .unwrap_or_default(),
    });
    // Once the owner removes the remote, an old failed copy is no longer a problem.
    let has_remote = crate::backup::Policy::load(conn, settings)?
        .remote
        .is_some();
    let copy = backups::last_copy_attempt(conn)?.filter(|_| has_remote);
    out.push(Condition {
        kind: "remote_failed",
        active: copy
            .as_ref()
            .is_some_and(|b| b.remote_status == Some(crate::domain::RemoteStatus::Failed)),
        detail: copy.and_then(|b| b.remote_error).unwrap_or_default(),
    });
    let limit = time::to_db(now - Duration::hours(STALE_AFTER_HOURS));
    let good = backups::last_good(conn)?;
    let anchor = app_settings::get(conn, ANCHOR)?.unwrap_or_else(time::now_db);
    let stale = anchor < limit
        && good
            .as_ref()
            .is_none_or(|b| b.finished_at.as_deref().unwrap_or("") < limit.as_str());
    out.push(Condition {
        kind: "backup_stale",
        active: stale,
        detail: match &good {
            Some(b) => format!(
                "último backup válido em {}",
                time::db_to_br(b.finished_at.as_deref().unwrap_or(""))
            ),
            None => "nenhum backup válido ainda".into(),
        },
    });
    let dead = crate::db::outbox::dead_count(conn)?;
    out.push(Condition {
        kind: "mail_dead",
        active: dead > 0,
        detail: format!("{dead} e-mail(s) desistido(s) depois de todas as tentativas"),
    });
    // The stored outcome of the last walk of the audit chain (services::history).
    if let Some(check) = super::history::last_check(conn)? {
        out.push(Condition {
            kind: "audit_chain",
            active: !check.intact,
            detail: match check.broken_at {
                Some(n) => format!("quebrada no registro nº {n}"),
                None => String::new(),
            },
        });
    }
    if let Some(r) = integrity {
        out.push(Condition {
            kind: "db_integrity",
            active: r.is_err(),
            detail: r.clone().err().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Records every change of state and mails it. Returns the kinds that changed.
pub fn evaluate(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    integrity: &Integrity,
) -> Result<Vec<String>, AppError> {
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_integrity = integrity.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let integrity = &w_integrity;
        if let Some(r) = integrity {
            // The health page reads the last outcome instead of checking again.
            let at = time::now_db();
            let stored = super::health::Integrity {
                at: at.clone(),
                ok: r.is_ok(),
                detail: r.clone().err().unwrap_or_default(),
            };
            let text = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.into()))?;
            app_settings::set(tx, super::health::INTEGRITY_KEY, &text, &at)?;
        }
        let conds = conditions(tx, settings, integrity)?;
        apply(tx, keys, settings, conds)
    })
}

/// The critical health checks whose cause no other alert covers (disk, stuck mail, a
/// silent job, a missing backup file, Omie failing): `health_<check>`, raised and
/// cleared like the others.
pub fn evaluate_health(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    checks: &[super::health::Check],
) -> Result<Vec<String>, AppError> {
    const KINDS: &[&str] = &[
        "health_backups",
        "health_mail",
        "health_disk",
        "health_jobs",
        "health_omie",
        "health_database",
        "health_tls",
    ];
    let conds: Vec<Condition> = KINDS
        .iter()
        .map(|kind| {
            let check = checks
                .iter()
                .find(|c| format!("health_{}", c.name) == *kind);
            let active = check.is_some_and(|c| c.alert);
            Condition {
                kind,
                active,
                detail: check
                    .filter(|_| active)
                    .map(|c| c.message.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    db::write(conn, move |tx| apply(tx, &w_keys, &w_settings, conds))
}

/// Records and mails each condition whose state differs from the stored one.
fn apply(
    tx: &Tx<'_>,
    keys: &Keys,
    settings: &Settings,
    conds: Vec<Condition>,
) -> Result<Vec<String>, AppError> {
    {
        let now = time::now_db();
        let stored = app_settings::alerts(tx)?;
        let mut changed = Vec::new();
        for c in conds {
            let was = stored.iter().any(|s| s.kind == c.kind && s.active);
            if was == c.active {
                continue;
            }
            app_settings::set_alert(tx, c.kind, c.active, &c.detail, &now)?;
            let recipients = {
                let configured = super::mail_settings::load(tx, keys, settings)?.alert_emails;
                if configured.is_empty() {
                    users::owner_emails(tx)?
                } else {
                    configured
                }
            };
            let (what, advice) = label(c.kind);
            let subject = if c.active {
                format!("Alerta: {what}")
            } else {
                format!("Resolvido: {what}")
            };
            let msg = AlertMessage {
                raised: c.active,
                what: what.to_string(),
                detail: c.detail.clone(),
                advice: advice.to_string(),
                link: format!(
                    "{}/admin/{}",
                    settings.base_url,
                    if c.kind == "mail_dead" {
                        "settings"
                    } else if c.kind.starts_with("health_") {
                        "saude"
                    } else {
                        "backups"
                    }
                ),
            };
            for to in &recipients {
                email::queue(tx, &keys.ring, &msg.to_outgoing(to, subject.clone())?, &now)?;
            }
            let action = if c.active {
                Action::AlertRaise
            } else {
                Action::AlertClear
            };
            let mut entry = Actor::system().entry(action, "alert", Some(c.kind));
            entry.details = json!({ "recipients": recipients.len() });
            audit::append(tx, &keys.audit, &now, &entry)?;
            tracing::warn!(alert = c.kind, active = c.active, "alert state changed");
            changed.push(c.kind.to_string());
        }
        Ok(changed)
    }
}

/// A background job panicked (and, when `gave_up`, will not be started again until the
/// server restarts): an e-mail to the alert recipients and an audit row.
pub fn job_failed(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    job: &str,
    panic: &str,
    gave_up: bool,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_job = job.to_owned();
    let w_panic = panic.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let job = &w_job;
        let panic = &w_panic;
        let now = time::now_db();
        let recipients = {
            let configured = super::mail_settings::load(tx, keys, settings)?.alert_emails;
            if configured.is_empty() {
                users::owner_emails(tx)?
            } else {
                configured
            }
        };
        let what = if gave_up {
            format!("a tarefa de fundo \"{job}\" parou de vez")
        } else {
            format!("a tarefa de fundo \"{job}\" falhou e foi reiniciada")
        };
        let msg = AlertMessage {
            raised: true,
            what: what.clone(),
            detail: panic.to_string(),
            advice: if gave_up {
                "reinicie o serviço (systemctl restart omie-tenant-manager) e, se voltar a acontecer, peça ajuda técnica com o log do servidor.".into()
            } else {
                "nada a fazer agora; se o alerta se repetir, peça ajuda técnica com o log do servidor.".into()
            },
            link: format!("{}/admin", settings.base_url),
        };
        for to in &recipients {
            email::queue(
                tx,
                &keys.ring,
                &msg.to_outgoing(to, format!("Alerta: {what}"))?,
                &now,
            )?;
        }
        let action = if gave_up {
            Action::JobDead
        } else {
            Action::JobPanic
        };
        let mut entry = Actor::system().entry(action, "job", Some(job));
        entry.details = json!({ "panic": panic, "recipients": recipients.len() });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
}

/// `PRAGMA quick_check` of the live database (reads every page; run it rarely).
pub fn check_live(conn: &Connection) -> Result<(), String> {
    match conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)) {
        Ok(v) if v == "ok" => Ok(()),
        // The first lines say enough (the list can name thousands of pages).
        Ok(v) => Err(v.lines().take(4).collect::<Vec<_>>().join(" ")),
        Err(e) => Err(e.to_string()),
    }
}

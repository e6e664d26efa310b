//! Saúde do sistema: one check per part of the server (database, backups, e-mail, disk,
//! background jobs, audit chain, Omie), each `ok`, `warning` or `critical` with one
//! sentence and what to do, in Portuguese. Every check reads something cheap: counts
//! through indexes, file sizes, `statvfs`, and facts stored by the background jobs (the
//! database's own integrity check runs hourly in the backup job, the audit chain's walk
//! daily), so the page and `GET /api/v1/health` cost milliseconds at any size.
//!
//! The thresholds are all in [`LIMITS`] (the README's table is written from it).

use crate::db::Conn;
use std::path::Path;

use chrono::Duration;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::app::{App, JobBoard, JobState};
use super::tls_cert::{self, Outcome};
use super::{Actor, Keys};
use crate::config::Settings;
use crate::db::{app_settings, backups, health as store, outbox};
use crate::domain::{BackupStatus, RemoteStatus};
use crate::error::AppError;
use crate::time;

/// Where the last integrity check of the live database is stored.
pub const INTEGRITY_KEY: &str = "health_integrity";

/// Where the health job stores today's tally of proxy calls to Omie (summing today's
/// usage rows reads one row per company, too much for every request).
pub const OMIE_TALLY_KEY: &str = "health_omie_calls";

/// Today's calls to Omie through the proxy, as the health job last counted them.
#[derive(Serialize, Deserialize)]
pub struct OmieTally {
    pub date: String,
    pub answered: i64,
    pub failed: i64,
}

/// Counts today's proxy calls and stores the tally (the health job, once a minute).
pub fn refresh(conn: &mut Conn) -> Result<(), AppError> {
    let date = time::today_br().format("%Y-%m-%d").to_string();
    let (answered, failed) = store::omie_calls(conn, &date)?;
    let text = serde_json::to_string(&OmieTally {
        date,
        answered,
        failed,
    })
    .map_err(|e| AppError::Internal(e.into()))?;
    crate::db::write(conn, move |tx| {
        app_settings::set(tx, OMIE_TALLY_KEY, &text, &time::now_db())?;
        Ok(())
    })
}

/// Every threshold of the health checks, in one place.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Free disk space (data and backups), percent of the disk: below is a warning.
    pub disk_warning_percent: f64,
    /// ... below is critical.
    pub disk_critical_percent: f64,
    /// Free disk space in MB below which it is a warning.
    pub disk_warning_mb: u64,
    /// ... below which it is critical (`OTM_HEALTH_DISK_MIN_FREE_MB`).
    pub disk_critical_mb: u64,
    /// A write-ahead log bigger than this (MB) means checkpoints are not happening.
    pub wal_warning_mb: u64,
    /// The hourly integrity check older than this (hours) is a warning.
    pub integrity_stale_hours: i64,
    /// No good backup for this long (hours) is critical (as the backup alert).
    pub backup_stale_hours: i64,
    /// The oldest message waiting in the outbox older than this (seconds): warning.
    pub mail_warning_secs: i64,
    /// ... critical (`OTM_HEALTH_MAIL_MAX_AGE_SECONDS`).
    pub mail_critical_secs: i64,
    /// More messages than this waiting: warning.
    pub mail_queue_warning: i64,
    /// The last walk of the audit chain older than this (hours): warning.
    pub audit_stale_hours: i64,
    /// A background job that has not gone round its loop for this many times its
    /// interval (plus a minute) is stale: critical.
    pub job_stale_factor: i64,
    /// Omie's error rate through the proxy is judged only from this many calls today.
    pub omie_min_calls: i64,
    /// Failed share of today's proxy calls (percent): warning.
    pub omie_warning_percent: f64,
    /// ... critical.
    pub omie_critical_percent: f64,
    /// The HTTPS certificate expires within this many days: warning.
    pub tls_warning_days: i64,
    /// ... critical (certbot renews 30 days ahead, so this means renewal is failing).
    pub tls_critical_days: i64,
}

pub const LIMITS: Limits = Limits {
    disk_warning_percent: 10.0,
    disk_critical_percent: 5.0,
    disk_warning_mb: 5 * 1024,
    disk_critical_mb: 1024,
    wal_warning_mb: 256,
    integrity_stale_hours: 3,
    backup_stale_hours: super::alerts::STALE_AFTER_HOURS,
    mail_warning_secs: 10 * 60,
    mail_critical_secs: 60 * 60,
    mail_queue_warning: 500,
    audit_stale_hours: 48,
    job_stale_factor: 5,
    omie_min_calls: 20,
    omie_warning_percent: 5.0,
    omie_critical_percent: 25.0,
    tls_warning_days: 21,
    tls_critical_days: 7,
};

impl Limits {
    /// The table with the settings that override it.
    pub fn with(settings: &Settings) -> Self {
        let mut l = LIMITS;
        if let Some(mb) = settings.health_disk_min_free_mb {
            l.disk_critical_mb = mb;
            l.disk_warning_mb = l.disk_warning_mb.max(mb.saturating_mul(2));
        }
        if let Some(s) = settings.health_mail_max_age_secs {
            l.mail_critical_secs = s as i64;
            l.mail_warning_secs = l.mail_warning_secs.min(s as i64 / 2);
        }
        l
    }
}

/// How often each job goes round its loop (seconds), for "alive or stale".
const JOB_EVERY: &[(&str, i64)] = &[
    ("mail", 1),
    ("backups", 5),
    ("housekeeping", 10),
    ("health", 60),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
        }
    }

    /// The word shown with the colour (never the colour alone).
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "Tudo certo",
            Status::Warning => "Atenção",
            Status::Critical => "Problema",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Check {
    /// `database`, `backups`, `mail`, `disk`, `jobs`, `audit_chain`, `omie`, `tls`.
    pub name: &'static str,
    /// The card's title.
    pub title: &'static str,
    pub status: Status,
    pub message: String,
    pub what_to_do: String,
    /// When what the check reports was found (database time format).
    pub checked_at: String,
    /// Critical for a cause no other alert mails about: the health job raises its own.
    pub alert: bool,
}

pub struct Report {
    pub status: Status,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn problems(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status != Status::Ok)
            .count()
    }
}

/// The last integrity check of the live database, as stored by the backup job.
#[derive(Serialize, Deserialize)]
pub struct Integrity {
    pub at: String,
    pub ok: bool,
    pub detail: String,
}

/// The report for the page and the API (owner and staff).
pub fn report(conn: &Connection, app: &App, actor: &Actor) -> Result<Report, AppError> {
    actor.platform_only()?;
    compute(conn, app)
}

/// Every check, now.
pub fn compute(conn: &Connection, app: &App) -> Result<Report, AppError> {
    let settings = &app.settings;
    let l = Limits::with(settings);
    let now = time::now_db();
    let mut checks = vec![
        database(conn, settings, &l, &now)?,
        backups_check(conn, settings, &l, &now)?,
        mail(conn, &app.keys, settings, &l, &now)?,
        disk(settings, &l, &now),
        jobs_check(&app.jobs, &l, &now),
        audit_chain(conn, &l, &now)?,
        omie(conn, &l, &now)?,
    ];
    if tls_cert::applies(&settings.base_url) {
        checks.push(certificate(app.tls.last(), &l, &now));
    }
    let status = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    Ok(Report { status, checks })
}

fn check(name: &'static str, title: &'static str, at: &str) -> Check {
    Check {
        name,
        title,
        status: Status::Ok,
        message: String::new(),
        what_to_do: "Nada a fazer.".into(),
        checked_at: at.to_string(),
        alert: false,
    }
}

fn mb(bytes: u64) -> String {
    time::bytes_br(bytes.min(i64::MAX as u64) as i64)
}

fn older_than(at: &str, d: Duration) -> bool {
    time::parse_db(at).is_none_or(|t| time::now() - t > d)
}

fn database(
    conn: &Connection,
    settings: &Settings,
    l: &Limits,
    now: &str,
) -> Result<Check, AppError> {
    let mut c = check("database", "Banco de dados", now);
    let path = settings.db_path();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut wal_path = path.clone().into_os_string();
    wal_path.push("-wal");
    let wal = std::fs::metadata(&wal_path).map(|m| m.len()).unwrap_or(0);
    let sizes = format!(
        "o banco ocupa {} (registro de escrita: {})",
        mb(size),
        mb(wal)
    );
    let stored: Option<Integrity> =
        app_settings::get(conn, INTEGRITY_KEY)?.and_then(|t| serde_json::from_str(&t).ok());
    match stored {
        Some(i) if !i.ok => {
            c.status = Status::Critical;
            c.checked_at = i.at.clone();
            c.message = format!(
                "A verificação de integridade do banco de dados falhou em {}; {sizes}.",
                time::db_to_br(&i.at)
            );
            c.what_to_do = "Não apague nada: faça um backup agora e peça ajuda técnica. O README explica como restaurar um backup.".into();
        }
        Some(i) if older_than(&i.at, Duration::hours(l.integrity_stale_hours)) => {
            c.status = Status::Warning;
            c.checked_at = i.at.clone();
            c.message = format!(
                "A última verificação de integridade foi em {}, há mais de {} horas; {sizes}.",
                time::db_to_br(&i.at),
                l.integrity_stale_hours
            );
            c.what_to_do = "Confira em Tarefas de fundo se a tarefa de backups está no ar; se não estiver, reinicie o serviço.".into();
        }
        Some(i) => {
            c.checked_at = i.at.clone();
            c.message = format!("Íntegro (verificado {}); {sizes}.", time::ago_br(&i.at));
        }
        None => {
            c.status = Status::Warning;
            c.message = format!("A integridade ainda não foi verificada; {sizes}.");
            c.what_to_do = "Aguarde alguns minutos: a verificação roda sozinha pouco depois de o servidor iniciar.".into();
        }
    }
    if c.status == Status::Ok && wal > l.wal_warning_mb * 1024 * 1024 {
        c.status = Status::Warning;
        c.message = format!("O registro de escrita do banco está grande demais; {sizes}.");
        c.what_to_do =
            "Reinicie o serviço num horário calmo; se voltar a crescer, peça ajuda técnica.".into();
    }
    Ok(c)
}

fn backups_check(
    conn: &Connection,
    settings: &Settings,
    l: &Limits,
    now: &str,
) -> Result<Check, AppError> {
    let mut c = check("backups", "Backups", now);
    let to_page = "Abra a página Backups e clique em \"Fazer backup agora\".";
    let last = backups::last_finished(conn)?;
    let good = backups::last_good(conn)?;
    let policy = crate::backup::Policy::load(conn, settings)?;
    let anchor = app_settings::get(conn, super::alerts::ANCHOR)?.unwrap_or_else(time::now_db);
    let stale_limit = Duration::hours(l.backup_stale_hours);
    let good_at = good.as_ref().and_then(|b| b.finished_at.clone());
    if last
        .as_ref()
        .is_some_and(|b| b.status == BackupStatus::Failed)
    {
        c.status = Status::Critical;
        c.message = "O último backup falhou.".into();
        c.what_to_do = format!("{to_page} Se falhar de novo, veja o erro na lista.");
        return Ok(c);
    }
    match &good {
        None if older_than(&anchor, stale_limit) => {
            c.status = Status::Critical;
            c.message = "Não há nenhum backup válido.".into();
            c.what_to_do = to_page.into();
            return Ok(c);
        }
        None => {
            c.status = Status::Warning;
            c.message =
                "Ainda não há nenhum backup: o primeiro sai no próximo horário agendado.".into();
            c.what_to_do = format!("Se quiser um agora: {to_page}");
            return Ok(c);
        }
        Some(_)
            if good_at
                .as_deref()
                .is_none_or(|at| older_than(at, stale_limit)) =>
        {
            c.status = Status::Critical;
            c.message = format!(
                "Não há backup válido nas últimas {} horas.",
                l.backup_stale_hours
            );
            c.what_to_do = to_page.into();
            return Ok(c);
        }
        Some(_) => {}
    }
    let Some(b) = good else { return Ok(c) };
    let at = good_at.unwrap_or_default();
    // The newest good backup's file must still be where it was written.
    if let (Some(name), None) = (&b.file_name, &b.pruned_at) {
        let file = crate::backup::dir(settings).join(name);
        if !file.is_file() {
            c.status = Status::Critical;
            c.alert = true;
            c.message = format!(
                "O arquivo do último backup válido ({}) sumiu do servidor.",
                time::db_to_br(&at)
            );
            c.what_to_do =
                format!("{to_page} Depois descubra quem apagou o arquivo da pasta de backups.");
            return Ok(c);
        }
    }
    c.message = format!(
        "Último backup válido {} ({}){}.",
        time::ago_br(&at),
        if b.verified {
            "conferido"
        } else {
            "não conferido"
        },
        match (&policy.remote, b.remote_status) {
            (None, _) => String::new(),
            (Some(_), Some(RemoteStatus::Copied)) => ", com cópia fora do servidor".into(),
            (Some(_), _) => ", sem cópia fora do servidor".into(),
        }
    );
    if !b.verified {
        c.status = Status::Warning;
        c.what_to_do = format!("O último backup não foi conferido depois de gravado. {to_page}");
    } else if policy.remote.is_none() {
        c.status = Status::Warning;
        c.message.push_str(" Os backups ficam só neste servidor.");
        c.what_to_do = "Configure uma cópia fora do servidor na página Backups (destino do rclone): se o servidor se perder, os backups se perdem com ele.".into();
    } else if let Some(copy) = backups::last_copy_attempt(conn)?
        && copy.remote_status == Some(RemoteStatus::Failed)
    {
        c.status = Status::Warning;
        c.message
            .push_str(" A última cópia para fora do servidor falhou.");
        c.what_to_do =
            "Abra a página Backups, veja o erro da cópia e clique em \"Testar destino\".".into();
    }
    Ok(c)
}

fn mail(
    conn: &Connection,
    keys: &Keys,
    settings: &Settings,
    l: &Limits,
    now: &str,
) -> Result<Check, AppError> {
    let mut c = check("mail", "E-mail", now);
    let configured = super::mail_settings::load(conn, keys, settings)?
        .smtp
        .is_some();
    let q = store::mail_queue(conn)?;
    let dead = outbox::dead_count(conn)?;
    let age = q
        .oldest
        .as_deref()
        .and_then(time::parse_db)
        .map(|t| (time::now() - t).num_seconds().max(0))
        .unwrap_or(0);
    let waiting = match &q.oldest {
        Some(at) if q.pending > 0 => format!(
            "{} e-mail(s) na fila, o mais antigo {}",
            q.pending,
            time::ago_br(at)
        ),
        _ => "nenhum e-mail na fila".into(),
    };
    let settings_page =
        "Abra Configurações → E-mail, confira o servidor e clique em \"Enviar e-mail de teste\".";
    if !configured {
        c.status = Status::Warning;
        c.message = format!("O envio de e-mail está desligado; {waiting}.");
        c.what_to_do = "Configure o servidor de e-mail em Configurações → E-mail; até lá, convites e alertas ficam guardados na fila.".into();
    } else if dead > 0 {
        c.status = Status::Critical;
        c.message = format!(
            "{dead} e-mail(s) não puderam ser enviados depois de todas as tentativas; {waiting}."
        );
        c.what_to_do = "Abra Configurações, veja o erro de cada e-mail e, depois de corrigir, clique em \"Tentar de novo\".".into();
    } else if q.pending > 0 && age > l.mail_critical_secs {
        c.status = Status::Critical;
        c.alert = true;
        c.message = format!("Os e-mails estão parados: {waiting}.");
        c.what_to_do = settings_page.into();
    } else if q.pending > 0 && (age > l.mail_warning_secs || q.failing > 0) {
        c.status = Status::Warning;
        c.message = format!("O servidor de e-mail não está aceitando as mensagens: {waiting}.");
        c.what_to_do = settings_page.into();
    } else if q.pending > l.mail_queue_warning {
        c.status = Status::Warning;
        c.message = format!("A fila de e-mail está longa: {waiting}.");
        c.what_to_do =
            "Aguarde; se a fila não diminuir em uma hora, confira o servidor de e-mail.".into();
    } else {
        c.message = format!("O envio de e-mail funciona; {waiting}.");
    }
    Ok(c)
}

/// Free space of the file system holding `path`: (free bytes, percent free).
fn free_space(path: &Path) -> Option<(u64, f64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    let free = s.f_bavail.saturating_mul(s.f_frsize);
    let total = s.f_blocks.saturating_mul(s.f_frsize);
    let pct = if total == 0 {
        100.0
    } else {
        free as f64 * 100.0 / total as f64
    };
    Some((free, pct))
}

fn disk(settings: &Settings, l: &Limits, now: &str) -> Check {
    let mut c = check("disk", "Espaço em disco", now);
    let backups_dir = crate::backup::dir(settings);
    let places = [
        ("dados", settings.data_dir.as_path()),
        (
            "backups",
            if backups_dir.exists() {
                backups_dir.as_path()
            } else {
                settings.data_dir.as_path()
            },
        ),
    ];
    let mut parts: Vec<(u64, String)> = Vec::new();
    let mut worst = Status::Ok;
    for (what, path) in places {
        let Some((free, pct)) = free_space(path) else {
            worst = worst.max(Status::Warning);
            parts.push((
                0,
                format!("não foi possível medir o espaço livre da pasta de {what}"),
            ));
            continue;
        };
        let free_mb = free / (1024 * 1024);
        let s = if free_mb < l.disk_critical_mb || pct < l.disk_critical_percent {
            Status::Critical
        } else if free_mb < l.disk_warning_mb || pct < l.disk_warning_percent {
            Status::Warning
        } else {
            Status::Ok
        };
        worst = worst.max(s);
        // Data and backups on the same disk: one sentence for both.
        if let Some(p) = parts.iter_mut().find(|(f, _)| *f == free && free > 0) {
            p.1 = format!(
                "{} livres onde ficam os dados e os backups ({pct:.0}% do disco)",
                mb(free)
            );
        } else {
            parts.push((
                free,
                format!(
                    "{} livres onde ficam os {what} ({pct:.0}% do disco)",
                    mb(free)
                ),
            ));
        }
    }
    let text = parts
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("; ");
    c.status = worst;
    c.alert = worst == Status::Critical;
    c.message = match worst {
        Status::Ok => format!("Há espaço: {text}."),
        _ => format!("O disco está enchendo: {text}."),
    };
    if worst != Status::Ok {
        c.what_to_do = format!(
            "Libere espaço no servidor (ou aumente o disco) antes que acabe: com o disco cheio, o banco de dados e os backups param. Abaixo de {} ou {}% livres é crítico.",
            mb(l.disk_critical_mb * 1024 * 1024),
            l.disk_critical_percent
        );
    }
    c
}

fn job_label(name: &str) -> &str {
    match name {
        "mail" => "envio de e-mail",
        "backups" => "backups e alertas",
        "retention" => "retenção de dados",
        "privacy-reminders" => "lembretes de privacidade",
        "audit-verify" => "verificação da auditoria",
        "housekeeping" => "limpeza e contagem de uso",
        "health" => "saúde do sistema",
        other => other,
    }
}

fn jobs_check(jobs: &JobBoard, l: &Limits, now: &str) -> Check {
    let mut c = check("jobs", "Tarefas de fundo", now);
    let snapshot = jobs.snapshot();
    let mut dead = Vec::new();
    let mut stale = Vec::new();
    let mut restarting = Vec::new();
    for (name, state) in &snapshot {
        match state {
            JobState::Dead { .. } => dead.push(job_label(name)),
            JobState::Restarting { .. } => restarting.push(job_label(name)),
            JobState::Finished => {}
            JobState::Running => {
                let every = JOB_EVERY.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
                if let (Some(every), Some(last)) = (every, jobs.last_beat(name)) {
                    let limit = Duration::seconds(every * l.job_stale_factor + 60);
                    if time::now() - last > limit {
                        stale.push(job_label(name));
                    }
                }
            }
        }
    }
    let restart = "Reinicie o serviço (systemctl restart omie-tenant-manager); se voltar a acontecer, peça ajuda técnica com o log do servidor.";
    if !dead.is_empty() {
        c.status = Status::Critical;
        c.message = format!("Tarefa(s) parada(s) de vez: {}.", dead.join(", "));
        c.what_to_do = restart.into();
    } else if !stale.is_empty() {
        c.status = Status::Critical;
        c.alert = true;
        c.message = format!("Tarefa(s) sem dar sinal de vida: {}.", stale.join(", "));
        c.what_to_do = restart.into();
    } else if !restarting.is_empty() {
        c.status = Status::Warning;
        c.message = format!(
            "Tarefa(s) que falharam e foram reiniciadas: {}.",
            restarting.join(", ")
        );
        c.what_to_do =
            "Nada a fazer agora; se o aviso continuar, peça ajuda técnica com o log do servidor."
                .into();
    } else if snapshot.is_empty() {
        c.status = Status::Warning;
        c.message = "As tarefas de fundo ainda não começaram.".into();
        c.what_to_do = "Aguarde alguns segundos e recarregue a página.".into();
    } else {
        c.message = format!("As {} tarefas de fundo estão funcionando.", snapshot.len());
    }
    c
}

fn certificate(fact: Option<tls_cert::Fact>, l: &Limits, now: &str) -> Check {
    let mut c = check("tls", "Certificado HTTPS", now);
    let renew = "Renove o certificado: no servidor, rode sudo certbot renew e depois sudo systemctl reload nginx (veja Ajuda → Backups e servidor). Se usa o Cloudflare, confira o certificado no painel dele.";
    let Some(fact) = fact else {
        c.message = "O certificado do endereço público ainda não foi verificado.".into();
        c.what_to_do = "Aguarde um minuto e recarregue a página.".into();
        return c;
    };
    c.checked_at = fact.at.clone();
    match fact.outcome {
        Outcome::Unreadable { .. } => {
            c.status = Status::Warning;
            c.message = "Não foi possível ler o certificado do endereço público do painel.".into();
            c.what_to_do = "Confira se o endereço em OTM_BASE_URL abre no navegador com o cadeado; se não abrir, confira o nginx e o DNS.".into();
        }
        Outcome::Read { not_after } => {
            let left = not_after - time::now();
            let until = time::db_to_br(&time::to_db(not_after));
            // Calendar days in São Paulo, as a person counts them ("vence amanhã").
            let days = (not_after
                .with_timezone(&chrono_tz::America::Sao_Paulo)
                .date_naive()
                - time::today_br())
            .num_days();
            let in_days = match days {
                0 => "hoje".to_string(),
                1 => "amanhã".to_string(),
                n => format!("em {n} dias"),
            };
            if left <= Duration::zero() {
                c.status = Status::Critical;
                c.alert = true;
                c.message = format!(
                    "O certificado HTTPS venceu em {until}: os navegadores estão avisando que o site não é seguro."
                );
                c.what_to_do = renew.into();
            } else if days < l.tls_critical_days {
                c.status = Status::Critical;
                c.alert = true;
                c.message = format!("O certificado HTTPS vence {in_days} ({until}).");
                c.what_to_do = renew.into();
            } else if days < l.tls_warning_days {
                c.status = Status::Warning;
                c.message = format!(
                    "O certificado HTTPS vence {in_days} ({until}) e ainda não foi renovado."
                );
                c.what_to_do = "A renovação costuma ser automática 30 dias antes; confira com sudo certbot renew --dry-run.".into();
            } else {
                c.message = format!("Certificado HTTPS válido até {until}.");
            }
        }
    }
    c
}

fn audit_chain(conn: &Connection, l: &Limits, now: &str) -> Result<Check, AppError> {
    let mut c = check("audit_chain", "Trilha de auditoria", now);
    match super::history::last_check(conn)? {
        None => {
            c.status = Status::Warning;
            c.message = "A trilha de auditoria ainda não foi verificada.".into();
            c.what_to_do = "Abra Auditoria e clique em \"Verificar agora\" (ela também é verificada sozinha uma vez por dia).".into();
        }
        Some(k) if !k.intact => {
            c.status = Status::Critical;
            c.checked_at = k.at.clone();
            c.message = format!(
                "A cadeia da trilha de auditoria está quebrada{} (verificada em {}).",
                k.broken_at
                    .map(|n| format!(" no registro nº {n}"))
                    .unwrap_or_default(),
                k.when_br()
            );
            c.what_to_do = "Alguém alterou, apagou ou inseriu registros direto no banco de dados. Não apague nada: faça um backup agora, abra Auditoria para ver o registro e chame quem cuida do servidor.".into();
        }
        Some(k) if older_than(&k.at, Duration::hours(l.audit_stale_hours)) => {
            c.status = Status::Warning;
            c.checked_at = k.at.clone();
            c.message = format!("A última verificação da trilha foi em {}.", k.when_br());
            c.what_to_do = "Abra Auditoria e clique em \"Verificar agora\"; confira também se o serviço está no ar.".into();
        }
        Some(k) => {
            c.checked_at = k.at.clone();
            c.message = format!("Cadeia íntegra, verificada em {}.", k.when_br());
        }
    }
    Ok(c)
}

fn omie(conn: &Connection, l: &Limits, now: &str) -> Result<Check, AppError> {
    let mut c = check("omie", "Omie", now);
    // Counted up to a hundred: the full count would join every failing row.
    const CAP: i64 = 100;
    let failing = store::failing_credentials_capped(conn, CAP)?;
    let today = time::today_br().format("%Y-%m-%d").to_string();
    let (answered, failed) = app_settings::get(conn, OMIE_TALLY_KEY)?
        .and_then(|t| serde_json::from_str::<OmieTally>(&t).ok())
        .filter(|t| t.date == today)
        .map_or((0, 0), |t| (t.answered, t.failed));
    let total = answered + failed;
    let pct = if total == 0 {
        0.0
    } else {
        failed as f64 * 100.0 / total as f64
    };
    let rate = if total == 0 {
        "nenhuma chamada ao Omie hoje".to_string()
    } else {
        format!(
            "{} de {} chamadas ao Omie falharam hoje ({pct:.0}%)",
            crate::views::int_br(failed),
            crate::views::int_br(total)
        )
    };
    if total >= l.omie_min_calls && pct >= l.omie_critical_percent {
        c.status = Status::Critical;
        c.alert = true;
        c.message = format!("Muitas chamadas ao Omie estão falhando: {rate}.");
        c.what_to_do = "Confira se o Omie está no ar (status.omie.com.br) e se este servidor acessa a internet; se só uma empresa falha, teste as credenciais dela.".into();
    } else if total >= l.omie_min_calls && pct >= l.omie_warning_percent {
        c.status = Status::Warning;
        c.message = format!("Algumas chamadas ao Omie estão falhando: {rate}.");
        c.what_to_do = "Acompanhe; se aumentar, confira se o Omie está no ar.".into();
    }
    if failing > 0 {
        c.status = c.status.max(Status::Warning);
        let creds = if failing > CAP {
            format!(
                "mais de {CAP} empresas ativas com credenciais do Omie recusadas no último teste"
            )
        } else if failing == 1 {
            "1 empresa ativa com credenciais do Omie recusadas no último teste".to_string()
        } else {
            format!(
                "{} empresas ativas com credenciais do Omie recusadas no último teste",
                crate::views::int_br(failing)
            )
        };
        c.message = if c.message.is_empty() {
            let text = format!("{creds}; {rate}.");
            let mut chars = text.chars();
            chars
                .next()
                .map(|f| f.to_uppercase().chain(chars).collect())
                .unwrap_or(text)
        } else {
            format!("{} Também: {creds}.", c.message)
        };
        if c.status == Status::Warning {
            c.what_to_do = "Abra Empresas, filtre pelas credenciais com problema e peça a cada cliente as chaves novas do Omie (ou teste de novo).".into();
        }
    }
    if c.message.is_empty() {
        c.message = format!("As credenciais testadas funcionam; {rate}.");
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_settings_override_the_disk_and_mail_limits_and_red_wins() {
        let env: BTreeMap<String, String> = [
            ("OTM_HEALTH_DISK_MIN_FREE_MB", "20000"),
            ("OTM_HEALTH_MAIL_MAX_AGE_SECONDS", "120"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Settings::from_sources(&BTreeMap::new(), &env).unwrap();
        let l = Limits::with(&s);
        assert_eq!(l.disk_critical_mb, 20000);
        assert!(l.disk_warning_mb >= 40000, "yellow comes before red");
        assert_eq!((l.mail_critical_secs, l.mail_warning_secs), (120, 60));
        let d = Limits::with(&Settings::from_sources(&BTreeMap::new(), &BTreeMap::new()).unwrap());
        assert_eq!(d.disk_critical_mb, LIMITS.disk_critical_mb);
        assert_eq!(
            [Status::Ok, Status::Critical, Status::Warning]
                .into_iter()
                .max(),
            Some(Status::Critical)
        );
    }
}

//! The privacy notice, notice acceptances, the record of processing and the incident
//! register (issue 11, item 8), all generated from the data inventory
//! (`domain::inventory`) and the retention periods in force.

use crate::db::Conn;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::{Actor, Keys, retention};
use crate::backup::Policy;
use crate::config::Settings;
use crate::crypto::{new_id, sha256_hex};
use crate::db::{self, audit, privacy as store};
use crate::domain::holidays;
use crate::domain::inventory::{self, Column, Export, Purpose, Rule};
use crate::domain::{Action, Role, required_text};
use crate::error::{AppError, FieldError};
use crate::time;

// ---- the notice --------------------------------------------------------------------

/// One processing activity as the notice and the record of processing show it.
#[derive(Clone, Debug, Serialize)]
pub struct Activity {
    #[serde(skip)]
    pub id: Purpose,
    pub name: &'static str,
    pub purpose: &'static str,
    pub data: Vec<&'static str>,
    pub subjects: Vec<&'static str>,
    pub bases: Vec<&'static str>,
    pub retention: Vec<String>,
    pub erasure: Vec<&'static str>,
    pub exported: bool,
}

/// The notice's content; its version is the hash of this.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    pub activities: Vec<Activity>,
    /// Retention rules with the days in force.
    pub periods: Vec<(&'static str, u32, &'static str)>,
    /// How long old backups keep data that was erased from the live database.
    pub backup_days: u32,
    #[serde(skip)]
    pub version: String,
}

fn distinct<T: Ord + Clone>(it: impl Iterator<Item = T>) -> Vec<T> {
    it.collect::<BTreeSet<_>>().into_iter().collect()
}

fn activity(p: Purpose, days: &dyn Fn(Rule) -> u32) -> Activity {
    let cols: Vec<&Column> = inventory::for_purpose(p).collect();
    Activity {
        id: p,
        name: p.activity(),
        purpose: p.label(),
        data: distinct(cols.iter().map(|c| c.class.label())),
        subjects: distinct(cols.iter().map(|c| c.subject.label())),
        bases: distinct(cols.iter().map(|c| c.basis.label())),
        retention: distinct(cols.iter().map(|c| c.retention.describe(days))),
        erasure: distinct(cols.iter().map(|c| c.erasure.label())),
        exported: cols.iter().any(|c| matches!(c.export, Export::In(_))),
    }
}

/// The notice as of now: the inventory, the periods in force and the backups' history.
pub fn notice(conn: &Connection, settings: &Settings) -> Result<Notice, AppError> {
    let periods = retention::periods(conn)?;
    let days = |r: Rule| {
        periods
            .iter()
            .find(|(p, _)| *p == r)
            .map_or(r.max_days(), |(_, d)| *d)
    };
    let backup_days = Policy::load(conn, settings)?.retention_days;
    let mut n = Notice {
        activities: Purpose::ALL.iter().map(|p| activity(*p, &days)).collect(),
        periods: periods
            .iter()
            .map(|(r, d)| (r.label(), *d, r.counted_from()))
            .collect(),
        backup_days,
        version: String::new(),
    };
    let canonical = serde_json::to_vec(&n)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("notice not serializable: {e}")))?;
    n.version = sha256_hex(&canonical)[..12].to_string();
    Ok(n)
}

pub fn notice_version(conn: &Connection, settings: &Settings) -> Result<String, AppError> {
    Ok(notice(conn, settings)?.version)
}

/// Records that a person accepted the notice in force (inside the caller's
/// transaction: the sign-up or the invitation's acceptance).
pub fn record_acceptance(
    tx: &Connection,
    settings: &Settings,
    user_id: Option<&str>,
    request_id: Option<&str>,
    context: &'static str,
    ip: &str,
    now: &str,
) -> Result<String, AppError> {
    let version = notice_version(tx, settings)?;
    store::record_acceptance(
        tx,
        &store::NewAcceptance {
            user_id,
            request_id,
            notice_version: &version,
            context,
            accepted_at: now,
            ip,
        },
    )?;
    Ok(version)
}

/// A person's notice acceptances (for the export and Minha conta).
pub fn acceptances_of(
    conn: &Connection,
    user_id: &str,
) -> Result<Vec<store::Acceptance>, AppError> {
    Ok(store::acceptances_of(conn, user_id)?)
}

// ---- the record of processing ------------------------------------------------------

/// Column headers of ANPD's simplified model (Res. CD/ANPD 2/2021, Art. 9).
pub const RECORD_HEADERS: [&str; 9] = [
    "Processo",
    "Finalidade",
    "Hipótese legal",
    "Categoria de titulares",
    "Dados pessoais",
    "Compartilhamento",
    "Medidas de segurança",
    "Período de armazenamento",
    "Observações",
];

const SECURITY: &str = "Senhas com bcrypt; segredos cifrados (AEAD) com chave mestra fora do banco; \
    HTTPS; verificação em duas etapas; sessões com prazo; trilha de auditoria encadeada por HMAC; \
    backups cifrados";

fn sharing(p: Purpose) -> &'static str {
    match p {
        Purpose::Mail => "Provedor de envio de e-mail configurado pelo controlador",
        Purpose::ClientRelationship | Purpose::Accounts => {
            "Aplicações autorizadas pela empresa cliente leem os dados da empresa"
        }
        _ => "Não há",
    }
}

/// The record of processing as CSV (owner and staff).
pub fn record_csv(
    conn: &Connection,
    actor: &Actor,
    settings: &Settings,
) -> Result<String, AppError> {
    actor.platform_only()?;
    let n = notice(conn, settings)?;
    let mut out = crate::csv::line(&RECORD_HEADERS);
    for a in &n.activities {
        let notes = format!(
            "Eliminação: {}. Cópias de segurança guardam os dados por até {} dias. Gerado do inventário de dados, aviso versão {}.",
            a.erasure.join("; "),
            n.backup_days,
            n.version
        );
        let row = [
            a.name.to_string(),
            a.purpose.to_string(),
            a.bases.join("; "),
            a.subjects.join("; "),
            a.data.join("; "),
            sharing(a.id).to_string(),
            SECURITY.to_string(),
            a.retention.join("; "),
            notes,
        ];
        out.push_str(&crate::csv::line(&row));
    }
    Ok(out)
}

// ---- incidents ---------------------------------------------------------------------

pub use store::Incident;

/// An incident with its ANPD deadline.
#[derive(Clone, Debug)]
pub struct IncidentView {
    pub incident: Incident,
    pub deadline: Option<NaiveDate>,
}

fn platform_only(actor: &Actor) -> Result<(), AppError> {
    actor.platform_only()
}

pub fn incidents(conn: &Connection, actor: &Actor) -> Result<Vec<IncidentView>, AppError> {
    platform_only(actor)?;
    Ok(store::incidents(conn)?
        .into_iter()
        .map(|i| IncidentView {
            deadline: NaiveDate::parse_from_str(&i.known_on, "%Y-%m-%d")
                .ok()
                .map(holidays::anpd_deadline),
            incident: i,
        })
        .collect())
}

/// What the owner types when registering an incident.
pub struct IncidentInput<'a> {
    pub known_on: &'a str,
    pub summary: &'a str,
    pub data_affected: &'a str,
    pub people_affected: &'a str,
    pub risk: &'a str,
    pub measures: &'a str,
}

fn br_date(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let raw = raw.trim();
    let d = time::parse_br_date(raw);
    if d.is_none() {
        errors.push(FieldError::new(
            field,
            "Informe a data no formato dd/mm/aaaa.",
        ));
    }
    d
}

fn text(
    raw: &str,
    max: usize,
    field: &str,
    msg: &'static str,
    errors: &mut Vec<FieldError>,
) -> String {
    match required_text(raw, max, msg) {
        Ok(t) => t,
        Err(m) => {
            errors.push(FieldError::new(field, m));
            String::new()
        }
    }
}

fn optional_text(raw: &str, max: usize) -> String {
    raw.trim().chars().take(max).collect()
}

/// Registers an incident (owner or staff: handling one is operations, not settings).
pub fn create_incident(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    input: &IncidentInput<'_>,
) -> Result<Incident, AppError> {
    platform_only(actor)?;
    let mut errors = Vec::new();
    let known_on = br_date(input.known_on, "known_on", &mut errors);
    let summary = text(
        input.summary,
        500,
        "summary",
        "Descreva o que aconteceu.",
        &mut errors,
    );
    let data_affected = text(
        input.data_affected,
        1000,
        "data_affected",
        "Diga quais dados foram afetados.",
        &mut errors,
    );
    let people_affected = text(
        input.people_affected,
        1000,
        "people_affected",
        "Diga quem foi afetado (e quantas pessoas, se souber).",
        &mut errors,
    );
    let risk = match input.risk {
        "low" | "relevant" => input.risk.to_string(),
        _ => {
            errors.push(FieldError::new("risk", "Escolha o risco."));
            String::new()
        }
    };
    if known_on.is_some_and(|d| d > time::today_br()) {
        errors.push(FieldError::new(
            "known_on",
            "A data não pode estar no futuro.",
        ));
    }
    let Some(known_on) = known_on.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let measures = optional_text(input.measures, 2000);
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        let i = Incident {
            id: new_id("inc"),
            known_on: known_on.format("%Y-%m-%d").to_string(),
            summary,
            data_affected,
            people_affected,
            risk,
            measures,
            anpd_notified_on: None,
            subjects_notified_on: None,
            communication: String::new(),
            created_at: now.clone(),
            created_by: actor.label(),
            updated_at: now.clone(),
        };
        store::insert_incident(tx, &i)?;
        let mut entry = actor.entry(Action::PrivacyIncidentCreate, "incident", Some(&i.id));
        entry.details = json!({ "known_on": i.known_on, "risk": i.risk });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(i)
    })
}

/// What was done since, and who was told when.
pub struct FollowUpInput<'a> {
    pub measures: &'a str,
    pub anpd_notified_on: &'a str,
    pub subjects_notified_on: &'a str,
    pub communication: &'a str,
}

pub fn follow_up_incident(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    input: &FollowUpInput<'_>,
) -> Result<Incident, AppError> {
    platform_only(actor)?;
    let mut errors = Vec::new();
    let mut date = |raw: &str, field: &str| -> Option<String> {
        if raw.trim().is_empty() {
            return None;
        }
        br_date(raw, field, &mut errors).map(|d| d.format("%Y-%m-%d").to_string())
    };
    let anpd = date(input.anpd_notified_on, "anpd_notified_on");
    let subjects = date(input.subjects_notified_on, "subjects_notified_on");
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let measures = optional_text(input.measures, 2000);
    let communication = input.communication.to_string();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let mut i = store::incident(tx, id)?.ok_or(AppError::NotFound)?;
        let now = time::now_db();
        i.measures = measures;
        i.anpd_notified_on = anpd;
        i.subjects_notified_on = subjects;
        i.communication = optional_text(&communication, 2000);
        i.updated_at = now.clone();
        store::update_incident_follow_up(tx, &i)?;
        let mut entry = actor.entry(Action::PrivacyIncidentUpdate, "incident", Some(&i.id));
        entry.details = json!({
            "anpd_notified_on": i.anpd_notified_on,
            "subjects_notified_on": i.subjects_notified_on,
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(i)
    })
}

/// Whether the actor may change retention periods (the page shows the form only then).
pub fn may_change_retention(actor: &Actor) -> bool {
    actor.role() == Some(Role::Owner)
}

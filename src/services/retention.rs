//! Retention (issue 11, item 7): the periods of the data inventory, the owner's
//! tightening of them, and the daily job's run that removes what is past them.
//!
//! Each rule ([`Rule`]) has the inventory's maximum (and, for access records, the
//! Marco Civil's minimum of 6 months); the owner may set a shorter period, stored in the
//! settings table as `retention.<rule>`. A run takes "now" as a parameter so that the
//! command line (`omie-tenant-manager retention run --now <RFC 3339>`) can apply it as
//! of another moment; the server's job passes the clock's time.

use crate::db::Conn;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::db::{self, app_settings, audit, privacy as store, sessions};
use crate::domain::inventory::Rule;
use crate::domain::{Action, Role};
use crate::error::AppError;
use crate::time;

fn setting_key(rule: Rule) -> String {
    format!("retention.{}", rule.key())
}

/// The period in force for `rule`: the owner's, kept within the inventory's bounds.
pub fn days(conn: &Connection, rule: Rule) -> Result<u32, AppError> {
    let stored = app_settings::get(conn, &setting_key(rule))?.and_then(|v| v.parse::<u32>().ok());
    Ok(stored
        .unwrap_or(rule.max_days())
        .clamp(rule.min_days(), rule.max_days()))
}

/// Every rule with its period in force.
pub fn periods(conn: &Connection) -> Result<Vec<(Rule, u32)>, AppError> {
    Rule::ALL
        .iter()
        .map(|r| Ok((*r, days(conn, *r)?)))
        .collect()
}

/// The page's view: owner and staff see the periods.
pub fn periods_for(conn: &Connection, actor: &Actor) -> Result<Vec<(Rule, u32)>, AppError> {
    actor.platform_only()?;
    periods(conn)
}

/// The owner tightens (or relaxes, up to the inventory's maximum) one period.
pub fn set_days(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    rule_key: &str,
    days_raw: &str,
) -> Result<u32, AppError> {
    match actor.role() {
        Some(Role::Owner) => {}
        Some(Role::Staff) => return Err(AppError::Forbidden),
        _ => return Err(AppError::NotFound),
    }
    let rule =
        Rule::parse(rule_key).ok_or_else(|| AppError::field("rule", "Regra desconhecida."))?;
    let (min, max) = (rule.min_days(), rule.max_days());
    let days: u32 = days_raw
        .trim()
        .parse()
        .ok()
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(|| {
            AppError::field(
                "days",
                if min == max {
                    format!("Este prazo é fixo: {max} dias.")
                } else {
                    format!("Informe um número de dias entre {min} e {max}.")
                },
            )
        })?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        let before = self::days(tx, rule)?;
        app_settings::set(tx, &setting_key(rule), &days.to_string(), &now)?;
        let mut entry = actor.entry(Action::PrivacyRetentionUpdate, "setting", Some(rule.key()));
        entry.details = json!({ "rule": rule.key(), "days": days, "before": before });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(days)
    })
}

/// What one run removed, per rule (counts only).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub sessions: usize,
    pub tokens: usize,
    pub signups: usize,
    pub links: usize,
    pub access_records: usize,
    pub audit_ips: usize,
    pub sent_mail: usize,
}

impl Removed {
    pub fn total(&self) -> usize {
        self.sessions
            + self.tokens
            + self.signups
            + self.links
            + self.access_records
            + self.audit_ips
            + self.sent_mail
    }
}

/// Applies every period as of `now`, in one transaction with its audit row (written
/// only when something was removed: counts, never contents).
pub fn run(
    conn: &mut Conn,
    keys: &Keys,
    now: DateTime<Utc>,
    session_idle_secs: u64,
) -> Result<Removed, AppError> {
    let w_keys = keys.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let cutoff = |rule: Rule| -> Result<String, AppError> {
            Ok(time::to_db(
                now - Duration::days(i64::from(days(tx, rule)?)),
            ))
        };
        let now_db = time::to_db(now);
        let idle_cutoff = time::to_db(now - Duration::seconds(session_idle_secs as i64));
        let access = cutoff(Rule::AccessRecords)?;
        let old_rows = audit::with_ip_before(tx, &access)?;
        let removed = Removed {
            sessions: sessions::delete_expired(tx, &idle_cutoff, &now_db)?,
            tokens: store::delete_expired_tokens(tx, &now_db)?,
            signups: store::delete_stale_signups(tx, &cutoff(Rule::Signups)?)?,
            links: store::delete_spent_links(tx, &cutoff(Rule::Links)?)?,
            access_records: store::forget_access_records(tx, &access)?,
            audit_ips: old_rows.len(),
            sent_mail: store::delete_old_mail(tx, &cutoff(Rule::SentMail)?)?,
        };
        if removed.total() > 0 {
            let at = time::now_db();
            let mut entry = Actor::system().entry(Action::PrivacyRetentionRun, "retention", None);
            entry.details = json!({ "as_of": now_db, "removed": removed });
            if !old_rows.is_empty() {
                entry.facts = json!({
                    "erased_rows": old_rows.len(),
                    "erased_digest": audit::erased_digest(&old_rows),
                });
            }
            let eid = audit::append(tx, &keys.audit, &at, &entry)?;
            if !old_rows.is_empty() {
                // Rows past the access-record period lose their personal part as in an
                // erasure: this row lists them by digest, so `audit verify` still passes.
                super::audit::erase_rows(tx, &keys.audit, &old_rows, eid)?;
            }
        }
        Ok(removed)
    })
    .inspect(|_| keys.hot.clear())
}

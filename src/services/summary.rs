//! The weekly summary report to the owners (every Monday at `OTM_DIGEST_TIME`, and on
//! demand), and the figures of the advanced reports page. Counts and company names
//! only: no person's name or e-mail.

use crate::db::Conn;
use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use serde_json::json;

use super::usage::{Meter, Tally};
use super::{Actor, Keys};
use crate::db::{self, audit, summary as store, usage as usage_store};
use crate::domain::{Action, Role};
use crate::email::{self, SummaryMessage};
use crate::error::AppError;
use crate::time;
use crate::views::int_br;

/// When the weekly summary goes out on Mondays (São Paulo time): `OTM_DIGEST_TIME`,
/// `08:00` by default — the same setting as the daily digest of notifications.
pub fn summary_time(settings: &crate::config::Settings) -> chrono::NaiveTime {
    crate::backup::schedule::parse_times(&settings.digest_time)
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default())
}

/// One line of usage: a company or an application, its calls in the week and the week
/// before, and the change in words ("+25%", "novo", "=").
#[derive(Clone, Debug)]
pub struct UsageLine {
    pub name: String,
    pub calls: String,
    pub before: String,
    pub change: String,
}

/// What the summary says, already in Brazilian formats.
#[derive(Clone, Debug)]
pub struct Summary {
    /// "22/11/2026 a 28/11/2026".
    pub period: String,
    pub added: i64,
    pub suspended: i64,
    pub archived: i64,
    pub pending: i64,
    pub calls: String,
    pub calls_before: String,
    pub calls_change: String,
    pub companies: Vec<UsageLine>,
    pub applications: Vec<UsageLine>,
    pub failing: Vec<String>,
    pub backups_ok: i64,
    pub backups_failed: i64,
    pub alerts: i64,
    pub mrr: String,
    pub mrr_trend: String,
}

/// "+25%", "-10%", "=", "novo".
pub fn change(now: i64, before: i64) -> String {
    if now == before {
        "=".into()
    } else if before == 0 {
        "novo".into()
    } else {
        let p = ((now - before) as f64 * 100.0 / before as f64).round() as i64;
        if p > 0 {
            format!("+{}%", int_br(p))
        } else {
            format!("{}%", int_br(p))
        }
    }
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The summary of the last 7 days (today included) against the 7 before.
pub fn build(conn: &mut Conn, meter: &Meter) -> Result<Summary, AppError> {
    let today = time::today_br();
    let first = today - Days::new(6);
    let prev_first = first - Days::new(7);
    let prev_last = first - Days::new(1);
    let since = time::br_day_start(first).unwrap_or_else(time::now_db);
    let this = usage_store::Filter {
        from: Some(iso(first)),
        to: Some(iso(today)),
        ..Default::default()
    };
    let (companies, applications, totals) = super::usage::period_tops(conn, meter, &this)?;
    let prev = usage_store::aggregate(
        conn,
        &usage_store::Filter {
            from: Some(iso(prev_first)),
            to: Some(iso(prev_last)),
            ..Default::default()
        },
    )?;
    let lines = |top: super::usage::Top, before: &HashMap<String, Tally>, unnamed: &str| {
        top.lines
            .into_iter()
            .map(|r| {
                let b = before.get(&r.key).map_or(0, |t| t.calls);
                UsageLine {
                    name: r.name.unwrap_or_else(|| unnamed.to_string()),
                    calls: int_br(r.tally.calls),
                    before: int_br(b),
                    change: change(r.tally.calls, b),
                }
            })
            .collect::<Vec<_>>()
    };
    let mrr = super::companies::mrr_facts(conn)?;
    let (backups_ok, backups_failed) = store::backups_since(conn, &since)?;
    Ok(Summary {
        period: format!(
            "{} a {}",
            first.format("%d/%m/%Y"),
            today.format("%d/%m/%Y")
        ),
        added: store::actions_since(conn, Action::CompanyCreate.as_str(), &since)?,
        suspended: store::actions_since(conn, Action::CompanySuspend.as_str(), &since)?,
        archived: store::actions_since(conn, Action::CompanyArchive.as_str(), &since)?,
        pending: store::people_pending(conn)?,
        calls: int_br(totals.calls),
        calls_before: int_br(prev.totals.calls),
        calls_change: change(totals.calls, prev.totals.calls),
        companies: lines(companies, &prev.companies, "Empresa removida"),
        applications: lines(applications, &prev.applications, "Aplicação removida"),
        failing: store::failing_credentials(conn)?,
        backups_ok,
        backups_failed,
        alerts: store::actions_since(conn, Action::AlertRaise.as_str(), &since)?,
        mrr: mrr.text(),
        mrr_trend: mrr.trend_text(),
    })
}

/// Queues the summary to every active owner and records it; returns how many were
/// mailed. A person must be an owner (staff: forbidden; anyone else: not found); the
/// Monday job acts as the system.
pub fn send(
    conn: &mut Conn,
    keys: &Keys,
    meter: &Meter,
    base_url: &str,
    actor: &Actor,
) -> Result<usize, AppError> {
    match (actor.role(), actor.is_platform() && actor.role().is_none()) {
        (Some(Role::Owner), _) | (None, true) => {}
        (Some(Role::Staff), _) => return Err(AppError::Forbidden),
        _ => return Err(AppError::NotFound),
    }
    queue_summary(conn, keys, meter, base_url, actor, None)
}

/// The app setting holding the São Paulo date of the last Monday summary.
const LAST_MONDAY: &str = "summary_last_monday";

/// The Monday summary, if due: on Mondays from [`summary_time`] on (São Paulo), once
/// per Monday (the date is recorded with the mail, so a restart does not send it twice,
/// and a server started later that Monday still sends it). Returns whether it went.
pub fn weekly_if_due(
    conn: &mut Conn,
    keys: &Keys,
    meter: &Meter,
    settings: &crate::config::Settings,
) -> Result<bool, AppError> {
    use chrono::{Datelike, Weekday};
    let base_url = settings.base_url.as_str();
    let now = time::now().with_timezone(&chrono_tz::America::Sao_Paulo);
    if now.weekday() != Weekday::Mon || now.time() < summary_time(settings) {
        return Ok(false);
    }
    let today = iso(now.date_naive());
    if crate::db::app_settings::get(conn, LAST_MONDAY)?.as_deref() == Some(today.as_str()) {
        return Ok(false);
    }
    queue_summary(conn, keys, meter, base_url, &Actor::system(), Some(&today))?;
    Ok(true)
}

fn queue_summary(
    conn: &mut Conn,
    keys: &Keys,
    meter: &Meter,
    base_url: &str,
    actor: &Actor,
    monday: Option<&str>,
) -> Result<usize, AppError> {
    let r = build(conn, meter)?;
    let subject = format!("Resumo semanal: {}", r.period);
    let msg = SummaryMessage {
        r,
        link: format!("{base_url}/admin"),
    };
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let monday = monday.map(str::to_owned);
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let monday = monday.as_deref();
        let now = time::now_db();
        let owners = crate::db::users::owner_emails(tx)?;
        for to in &owners {
            email::queue(tx, &keys.ring, &msg.to_outgoing(to, subject.clone())?, &now)?;
        }
        if let Some(day) = monday {
            crate::db::app_settings::set(tx, LAST_MONDAY, day, &now)?;
        }
        let mut entry = actor.entry(Action::ReportSummarySend, "report", None);
        entry.details = json!({ "recipients": owners.len() });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(owners.len())
    })
}

/// How many idle companies the reports page names (the rest are counted).
pub const IDLE_SHOWN: usize = 50;

/// "Relatórios avançados": the top consumers of the last 30 days, the active companies
/// with no application call in 30 days, the credentials failing validation, and the
/// MRR. Company names and counts only. Owner and staff.
pub struct Advanced {
    pub top: Vec<UsageLine>,
    pub idle: Vec<String>,
    pub idle_count: i64,
    pub failing: Vec<String>,
    pub mrr: super::companies::Mrr,
}

pub fn advanced(conn: &mut Conn, meter: &Meter, actor: &Actor) -> Result<Advanced, AppError> {
    actor.platform_only()?;
    let today = time::today_br();
    let first = today - Days::new(29);
    let prev = usage_store::aggregate(
        conn,
        &usage_store::Filter {
            from: Some(iso(first - Days::new(30))),
            to: Some(iso(first - Days::new(1))),
            ..Default::default()
        },
    )?;
    let (companies, _, _) = super::usage::period_tops(
        conn,
        meter,
        &usage_store::Filter {
            from: Some(iso(first)),
            to: Some(iso(today)),
            ..Default::default()
        },
    )?;
    let top = companies
        .lines
        .into_iter()
        .map(|r| {
            let b = prev.companies.get(&r.key).map_or(0, |t| t.calls);
            UsageLine {
                name: r.name.unwrap_or_else(|| "Empresa removida".into()),
                calls: int_br(r.tally.calls),
                before: int_br(b),
                change: change(r.tally.calls, b),
            }
        })
        .collect();
    let (idle, idle_count) = store::idle_companies(conn, &iso(first), IDLE_SHOWN)?;
    Ok(Advanced {
        top,
        idle,
        idle_count,
        failing: store::failing_credentials(conn)?,
        mrr: super::companies::mrr_facts(conn)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_percentages() {
        assert_eq!(change(125, 100), "+25%");
        assert_eq!(change(90, 100), "-10%");
        assert_eq!(change(5, 0), "novo");
        assert_eq!(change(0, 0), "=");
        assert_eq!(change(0, 7), "-100%");
    }
}

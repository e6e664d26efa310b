//! The dashboard's first page: how many companies and people, what happened lately,
//! and whether the newest good backup is too old.

use rusqlite::Connection;

use super::Actor;
use crate::db::audit::Entry;
use crate::db::{backups, companies, users};
use crate::domain::CompanyStatus;
use crate::error::AppError;
use crate::time;

pub struct Overview {
    pub active: i64,
    pub suspended: i64,
    pub archived: i64,
    pub users: i64,
    pub recent: Vec<Entry>,
    /// When the newest good backup finished, and whether that is too long ago.
    pub last_backup: Option<(String, bool)>,
}

pub fn overview(conn: &Connection, actor: &Actor) -> Result<Overview, AppError> {
    actor.platform_only()?;
    let counts = companies::count_by_status(conn)?;
    let count = |s: CompanyStatus| {
        counts
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let (recent, _) = super::audit::list(conn, actor, Default::default(), 10)?;
    let last_backup = backups::last_good(conn)?.map(|b| {
        let at = b.finished_at.unwrap_or(b.started_at);
        let stale = time::parse_db(&at).is_none_or(|t| {
            time::now() - t > chrono::Duration::hours(super::alerts::STALE_AFTER_HOURS)
        });
        (at, stale)
    });
    Ok(Overview {
        active: count(CompanyStatus::Active),
        suspended: count(CompanyStatus::Suspended),
        archived: count(CompanyStatus::Archived),
        users: users::count(conn)?,
        recent,
        last_backup,
    })
}

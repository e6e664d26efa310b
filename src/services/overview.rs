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
    /// The newest off-site copy failed (and an off-site destination is still set): the
    /// backup is not healthy, whatever its age.
    pub copy_failing: bool,
    /// A backup is running now (the first one, when there is no good backup yet).
    pub running: bool,
}

pub fn overview(
    conn: &Connection,
    actor: &Actor,
    settings: &crate::config::Settings,
) -> Result<Overview, AppError> {
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
    let has_remote = crate::backup::Policy::load(conn, settings)?
        .remote
        .is_some();
    let copy_failing = has_remote
        && backups::last_copy_attempt(conn)?
            .is_some_and(|b| b.remote_status == Some(crate::domain::RemoteStatus::Failed));
    Ok(Overview {
        active: count(CompanyStatus::Active),
        suspended: count(CompanyStatus::Suspended),
        archived: count(CompanyStatus::Archived),
        users: users::count(conn)?,
        recent,
        last_backup,
        copy_failing,
        running: backups::running(conn)?.is_some(),
    })
}

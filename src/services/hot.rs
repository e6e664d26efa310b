//! Hot-path caches (issue 14, item 3): who a bearer token belongs to, and what an
//! application's link to a company allows, answered from memory instead of SQL.
//!
//! - **Person tokens**: SHA-256 of the token → the principal and whether a second
//!   factor must be enrolled first, until the token's `expires_at`.
//! - **Application tokens**: SHA-256 of the token (without its prefix) → (application
//!   id, client id, scope), until the token's `expires_at`.
//! - **Links**: (application, company) → the company's status and the link's scopes.
//!
//! Keys are SHA-256 hashes as in the database; no value holds a secret. Every entry is
//! dropped at its token's expiry, and after [`MAX_AGE`] at most (a bound for changes made
//! behind the program's back, such as an edit with `sqlite3`). Each map holds at most
//! `OTM_HOT_CACHE_ENTRIES` entries (expired ones go first, then an arbitrary eighth).
//!
//! **Invalidation.** A use case that changes who may do what calls one of the `forget_*`
//! methods after its write committed and before it returns, so the next request reads
//! the database again. Each call moves a generation counter on; a reader takes a
//! [`Ticket`] (the generation) *before* its database read and may store what it read only
//! while the generation is still the ticket's, so a read that saw the state from before a
//! change can never be put back after the change's invalidation.
//!
//! **Other processes.** The command line writes the same database while the server runs.
//! Its invalidations (and the end of every command that opened the database) replace the
//! file `hot-cache.epoch` in the data dir (a new file renamed over it). The server holds
//! the file it last saw open and looks at it (`fstat`: no read, no path to walk) on every
//! lookup: once replaced or removed, the held file has no name left (`nlink` 0), and the
//! server drops everything and opens the file by name again. The command answers only
//! after replacing it, so once it answered, no request is served from what was cached
//! before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Duration, Utc};

use rusqlite::Connection;

use super::app::App;
use super::auth::Principal;
use super::{Actor, Keys};
use crate::bounded::Bounded;
use crate::crypto::sha256_hex;
use crate::domain::CompanyStatus;
use crate::error::AppError;

/// The longest an entry lives, whatever its token's expiry.
pub const MAX_AGE: Duration = Duration::seconds(60);

/// Entries per map unless `OTM_HOT_CACHE_ENTRIES` says otherwise.
pub const DEFAULT_ENTRIES: usize = 10_000;

/// The file the command line replaces when it changed the database.
pub const EPOCH_FILE: &str = "hot-cache.epoch";

/// A person's token, as the API guard needs it.
#[derive(Clone, Debug)]
pub struct PersonEntry {
    pub principal: Principal,
    /// Whether a second factor must be turned on before anything else.
    pub must_enrol: bool,
}

/// An application's token: (application id, client id, scope).
pub type AppEntry = (String, String, String);

/// What an application's link to a company allows, as the access checks use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEntry {
    /// The company's status; `None` when there is no such company.
    pub company: Option<CompanyStatus>,
    /// The link's scopes (space-separated); `None` when not linked.
    pub scopes: Option<String>,
}

/// The generation a reader saw before reading the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// Whether the epoch file the server holds open still has its name. A command renames a
/// new file over it, and the held file cannot be freed and its inode given to a later
/// one while it is open, so every replacement, however quick, leaves the held file with
/// `nlink` 0. One `fstat` of an open file, where a `stat` by name walked the data dir's
/// whole path on every look-up (~1.5 µs of a credential read).
fn still_named(f: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    f.metadata().is_ok_and(|m| m.nlink() > 0)
}

/// Opens the epoch file to be watched (read only), making it first when there is none.
fn hold(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path),
        opened => opened,
    }
}

/// Whose the epoch file is: the server watches it, a command announces through it.
#[derive(Clone, Debug)]
enum Epoch {
    Watch(PathBuf),
    Announce(PathBuf),
}

struct Inner {
    generation: u64,
    /// The epoch file last seen, held open (see [`still_named`]).
    held: Option<std::fs::File>,
    people: Bounded<String, PersonEntry, DateTime<Utc>>,
    apps: Bounded<String, AppEntry, DateTime<Utc>>,
    links: Bounded<(String, String), LinkEntry, DateTime<Utc>>,
}

impl Inner {
    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn clear(&mut self) {
        self.bump();
        self.people = Bounded::new();
        self.apps = Bounded::new();
        self.links = Bounded::new();
    }
}

/// The caches. One per process, held by [`super::Keys`] (every use case that writes has
/// the keys, so every change that ends access reaches it).
pub struct Hot {
    inner: Mutex<Inner>,
    cap: AtomicUsize,
    epoch: OnceLock<Epoch>,
}

impl Default for Hot {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES)
    }
}

impl std::fmt::Debug for Hot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hot(..)")
    }
}

impl Hot {
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                generation: 0,
                held: None,
                people: Bounded::new(),
                apps: Bounded::new(),
                links: Bounded::new(),
            }),
            cap: AtomicUsize::new(cap),
            epoch: OnceLock::new(),
        }
    }

    /// Entries per map (`OTM_HOT_CACHE_ENTRIES`); 0 turns the caches off.
    pub fn set_capacity(&self, cap: usize) {
        self.cap.store(cap, Ordering::Relaxed);
        if cap == 0 {
            self.lock().clear();
        }
    }

    fn capacity(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }

    /// The server: drop everything whenever a command replaced the epoch file.
    pub fn watch(&self, data_dir: &Path) {
        let path = data_dir.join(EPOCH_FILE);
        let held = hold(&path)
            .inspect_err(|e| {
                tracing::warn!(error = %e, "cannot open {}: the hot caches stay empty", path.display());
            })
            .ok();
        let _ = self.epoch.set(Epoch::Watch(path));
        self.lock().held = held;
    }

    /// A command: every invalidation replaces the epoch file, for a running server.
    pub fn announce_to(&self, data_dir: &Path) {
        let _ = self.epoch.set(Epoch::Announce(data_dir.join(EPOCH_FILE)));
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock, after dropping everything if another process changed the database.
    fn checked(&self) -> MutexGuard<'_, Inner> {
        match self.epoch.get() {
            Some(Epoch::Watch(path)) => {
                let mut inner = self.lock();
                // Replaced or removed (or never opened): drop everything and look again
                // by name. Until a file is held, every look-up lands here, keeping nothing.
                if !inner.held.as_ref().is_some_and(still_named) {
                    inner.clear();
                    inner.held = hold(path).ok();
                }
                inner
            }
            _ => self.lock(),
        }
    }

    /// Take this before reading what will be stored.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.checked().generation)
    }

    pub fn person(&self, token_hash: &str) -> Option<PersonEntry> {
        if self.capacity() == 0 {
            return None;
        }
        self.checked().people.get(token_hash, crate::time::now())
    }

    pub fn put_person(
        &self,
        t: Ticket,
        token_hash: &str,
        e: PersonEntry,
        expires_at: DateTime<Utc>,
    ) {
        let (now, cap) = (crate::time::now(), self.capacity());
        let mut inner = self.lock();
        if inner.generation == t.0 {
            let until = expires_at.min(now + MAX_AGE);
            inner.people.put(token_hash.to_string(), e, until, now, cap);
        }
    }

    pub fn application(&self, token_hash: &str) -> Option<AppEntry> {
        if self.capacity() == 0 {
            return None;
        }
        self.checked().apps.get(token_hash, crate::time::now())
    }

    pub fn put_application(
        &self,
        t: Ticket,
        token_hash: &str,
        e: AppEntry,
        expires_at: DateTime<Utc>,
    ) {
        let (now, cap) = (crate::time::now(), self.capacity());
        let mut inner = self.lock();
        if inner.generation == t.0 {
            let until = expires_at.min(now + MAX_AGE);
            inner.apps.put(token_hash.to_string(), e, until, now, cap);
        }
    }

    pub fn link(&self, app_id: &str, company_id: &str) -> Option<LinkEntry> {
        if self.capacity() == 0 {
            return None;
        }
        self.checked().links.get(
            &(app_id.to_string(), company_id.to_string()),
            crate::time::now(),
        )
    }

    pub fn put_link(&self, t: Ticket, app_id: &str, company_id: &str, e: LinkEntry) {
        let (now, cap) = (crate::time::now(), self.capacity());
        let mut inner = self.lock();
        if inner.generation == t.0 {
            inner.links.put(
                (app_id.to_string(), company_id.to_string()),
                e,
                now + MAX_AGE,
                now,
                cap,
            );
        }
    }

    /// Entries held: (person tokens, application tokens, links).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        (inner.people.len(), inner.apps.len(), inner.links.len())
    }

    fn forget(&self, f: impl FnOnce(&mut Inner)) {
        {
            let mut inner = self.lock();
            inner.bump();
            f(&mut inner);
        }
        self.announce();
    }

    /// A person's token ended (its SHA-256, as stored).
    pub fn forget_person_token(&self, token_hash: &str) {
        self.forget(|i| i.people.retain(|k, _| k != token_hash));
    }

    /// A person changed in a way that may end or change their access: status, role,
    /// password, second factor, tokens.
    pub fn forget_user(&self, user_id: &str) {
        self.forget(|i| i.people.retain(|_, p| p.principal.user.id != user_id));
    }

    /// An application's token ended (its SHA-256 without the prefix).
    pub fn forget_app_token(&self, token_hash: &str) {
        self.forget(|i| i.apps.retain(|k, _| k != token_hash));
    }

    /// An application, a secret of it, or its links changed: its tokens and links.
    pub fn forget_application(&self, app_id: &str) {
        self.forget(|i| {
            i.apps.retain(|_, (id, _, _)| id != app_id);
            i.links.retain(|(a, _), _| a != app_id);
        });
    }

    /// One link changed or went.
    pub fn forget_link(&self, app_id: &str, company_id: &str) {
        self.forget(|i| {
            i.links
                .retain(|(a, c), _| !(a == app_id && c == company_id))
        });
    }

    /// A company's status changed (or it was erased): its people's tokens and its links.
    pub fn forget_company(&self, company_id: &str) {
        self.forget(|i| {
            i.people
                .retain(|_, p| p.principal.user.company_id.as_deref() != Some(company_id));
            i.links.retain(|(_, c), _| c != company_id);
        });
    }

    /// Anything else that may change who may do what: drop everything.
    pub fn clear(&self) {
        self.forget(Inner::clear);
    }

    /// A command tells a running server that the database changed.
    fn announce(&self) {
        if let Some(Epoch::Announce(path)) = self.epoch.get()
            && let Err(e) = announce(path)
        {
            tracing::error!(error = %e, "cannot tell a running server that the database changed");
        }
    }
}

/// The application behind a token when the cache holds it: no connection, no SQL, so
/// the request's own thread may ask (a hit costs a hash, a map look-up and one `fstat` of
/// the epoch file); `None` means "ask [`application_token`]", not "unknown".
pub fn cached_application_token(app: &App, token: &str) -> Option<AppEntry> {
    app.keys
        .hot
        .application(&super::applications::token_key(token))
}

/// The person behind a token when the cache holds it; see [`cached_application_token`].
pub fn cached_person_token(app: &App, token: &str) -> Option<PersonEntry> {
    app.keys.hot.person(&sha256_hex(token.as_bytes()))
}

/// The application behind a live token (`oat_` removed): from the cache, or from the
/// database (then cached until the token expires). Takes a connection only on a miss.
pub fn application_token(app: &App, token: &str) -> Result<Option<AppEntry>, AppError> {
    let hot = &app.keys.hot;
    let hash = super::applications::token_key(token);
    if let Some(e) = hot.application(&hash) {
        return Ok(Some(e));
    }
    let t = hot.ticket();
    let conn = app.pool.get()?;
    let found = crate::db::applications::live_token_until(&conn, &hash, &crate::time::now_db())?;
    Ok(found.map(|(e, expires_at)| {
        if let Some(until) = crate::time::parse_db(&expires_at) {
            hot.put_application(t, &hash, e.clone(), until);
        }
        e
    }))
}

/// The person behind a live token and whether they must enrol a second factor first:
/// from the cache, or from the database (then cached until the token expires).
pub fn person_token(app: &App, token: &str) -> Result<Option<PersonEntry>, AppError> {
    let hot = &app.keys.hot;
    let hash = sha256_hex(token.as_bytes());
    if let Some(e) = hot.person(&hash) {
        return Ok(Some(e));
    }
    let t = hot.ticket();
    let conn = app.pool.get()?;
    let Some((mut principal, expires_at)) = super::auth::resolve_token_until(&conn, token)? else {
        return Ok(None);
    };
    // Nothing of the API reads it from here (a password is always checked against a
    // fresh row): the cache keeps no password hash.
    principal.user.password_hash = None;
    let must_enrol = super::mfa::must_enrol(&conn, &app.settings, &principal)?;
    let e = PersonEntry {
        principal,
        must_enrol,
    };
    if let Some(until) = crate::time::parse_db(&expires_at) {
        hot.put_person(t, &hash, e.clone(), until);
    }
    Ok(Some(e))
}

/// What `app_id`'s link to `company_id` allows: from the cache, or from the database.
pub fn link(
    conn: &Connection,
    hot: &Hot,
    app_id: &str,
    company_id: &str,
) -> Result<LinkEntry, AppError> {
    if let Some(e) = hot.link(app_id, company_id) {
        return Ok(e);
    }
    let t = hot.ticket();
    let e = LinkEntry {
        company: crate::db::companies::get(conn, company_id)?.map(|c| c.status),
        scopes: crate::db::applications::link_scopes(conn, app_id, company_id)?,
    };
    hot.put_link(t, app_id, company_id, e.clone());
    Ok(e)
}

/// Whether an application actor may use `scope` on a company: the scope must be in the
/// link and in the token (least privilege), on an active company. 404 when not linked,
/// the company is not active or does not exist; 403 when linked without the scope.
pub fn app_may(
    conn: &Connection,
    keys: &Keys,
    actor: &Actor,
    company_id: &str,
    scope: &str,
) -> Result<(), AppError> {
    let Some(app_id) = actor.application_id() else {
        return Err(AppError::NotFound);
    };
    let e = link(conn, &keys.hot, app_id, company_id)?;
    link_allows(e.company, e.scopes.as_deref(), actor, scope)
}

/// [`app_may`]'s answer once the company's status (`None`: no such company) and the
/// link's scopes (`None`: not linked) are known, from the cache or from SQL.
pub fn link_allows(
    company: Option<CompanyStatus>,
    link_scopes: Option<&str>,
    actor: &Actor,
    scope: &str,
) -> Result<(), AppError> {
    let (Some(status), Some(scopes)) = (company, link_scopes) else {
        return Err(AppError::NotFound);
    };
    if status != CompanyStatus::Active {
        return Err(AppError::NotFound);
    }
    if scopes.split(' ').any(|s| s == scope) && actor.token_grants(scope) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Tells a server watching `data_dir` to drop what it cached (the end of every command
/// that opened the database, whatever it did).
pub fn announce_change(data_dir: &Path) -> anyhow::Result<()> {
    announce(&data_dir.join(EPOCH_FILE))
}

/// Replaces the epoch file (a new file renamed over it: a new inode, seen at once).
fn announce(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let tmp = path.with_extension(format!("epoch.{}", std::process::id()));
    let stamp = format!("{} {}\n", crate::time::now_db(), std::process::id());
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(stamp.as_bytes())
    };
    write().with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::users::User;
    use crate::domain::{Role, UserStatus};

    fn person(id: &str, company: Option<&str>) -> PersonEntry {
        PersonEntry {
            principal: Principal {
                user: User {
                    id: id.into(),
                    company_id: company.map(str::to_string),
                    name: "N".into(),
                    email: format!("{id}@example.com"),
                    role: Role::CompanyUser,
                    status: UserStatus::Active,
                    password_hash: None,
                    failed_attempts: 0,
                    locked_until: None,
                    last_failed_at: None,
                    last_login_at: None,
                    created_at: String::new(),
                    rejected_at: None,
                    status_reason: String::new(),
                },
                role: Role::CompanyUser,
            },
            must_enrol: false,
        }
    }

    fn later() -> DateTime<Utc> {
        crate::time::now() + Duration::hours(1)
    }

    fn app(id: &str) -> AppEntry {
        (id.into(), format!("cli_{id}"), "companies:read".into())
    }

    #[test]
    fn a_stored_entry_is_found_until_invalidated() {
        let hot = Hot::new(10);
        let t = hot.ticket();
        hot.put_person(t, "h1", person("u1", Some("c1")), later());
        assert!(hot.person("h1").is_some());
        hot.forget_user("u1");
        assert!(hot.person("h1").is_none());
    }

    #[test]
    fn a_read_from_before_an_invalidation_is_not_stored() {
        // The classic race: the reader took its ticket and read the old state; the
        // change committed and invalidated; then the reader tries to store what it read.
        let hot = Hot::new(10);
        let t = hot.ticket();
        hot.forget_person_token("h1");
        hot.put_person(t, "h1", person("u1", None), later());
        assert!(hot.person("h1").is_none());
        let t = hot.ticket();
        hot.forget_application("app1");
        hot.put_application(t, "a1", app("app1"), later());
        assert!(hot.application("a1").is_none());
        let t = hot.ticket();
        hot.forget_link("app1", "c1");
        let e = LinkEntry {
            company: Some(CompanyStatus::Active),
            scopes: Some("omie:proxy".into()),
        };
        hot.put_link(t, "app1", "c1", e.clone());
        assert!(hot.link("app1", "c1").is_none());
        // A fresh ticket stores.
        let t = hot.ticket();
        hot.put_link(t, "app1", "c1", e.clone());
        assert_eq!(hot.link("app1", "c1"), Some(e));
    }

    #[test]
    fn an_entry_never_outlives_its_token() {
        let hot = Hot::new(10);
        let t = hot.ticket();
        let soon = crate::time::now() + Duration::milliseconds(30);
        hot.put_application(t, "a1", app("app1"), soon);
        assert!(hot.application("a1").is_some());
        std::thread::sleep(std::time::Duration::from_millis(40));
        assert!(hot.application("a1").is_none());
        // An expired token is not stored at all.
        let past = crate::time::now() - Duration::seconds(1);
        hot.put_application(hot.ticket(), "a2", app("app1"), past);
        assert!(hot.application("a2").is_none());
    }

    #[test]
    fn an_entry_lives_at_most_max_age() {
        let hot = Hot::new(10);
        let far = crate::time::now() + Duration::days(30);
        hot.put_person(hot.ticket(), "h1", person("u1", None), far);
        let inner = hot.lock();
        let until = inner.people.until("h1").unwrap();
        assert!(until <= crate::time::now() + MAX_AGE);
    }

    #[test]
    fn the_maps_are_bounded() {
        let hot = Hot::new(3);
        for i in 0..10 {
            hot.put_application(hot.ticket(), &format!("a{i}"), app("x"), later());
            assert!(hot.sizes().1 <= 3);
        }
        let hot = Hot::new(1000);
        for i in 0..5000 {
            hot.put_application(hot.ticket(), &format!("a{i}"), app("x"), later());
            assert!(hot.sizes().1 <= 1000);
        }
        // The newest is always kept.
        assert!(hot.application("a4999").is_some());
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let hot = Hot::new(2);
        let soon = crate::time::now() + Duration::milliseconds(20);
        hot.put_application(hot.ticket(), "old", app("x"), soon);
        hot.put_application(hot.ticket(), "live", app("x"), later());
        std::thread::sleep(std::time::Duration::from_millis(30));
        hot.put_application(hot.ticket(), "new", app("x"), later());
        assert!(hot.application("live").is_some());
        assert!(hot.application("new").is_some());
    }

    #[test]
    fn capacity_zero_turns_the_caches_off() {
        let hot = Hot::new(0);
        hot.put_application(hot.ticket(), "a1", app("x"), later());
        assert!(hot.application("a1").is_none());
    }

    #[test]
    fn forgetting_a_company_drops_its_people_and_links_only() {
        let hot = Hot::new(10);
        hot.put_person(hot.ticket(), "h1", person("u1", Some("c1")), later());
        hot.put_person(hot.ticket(), "h2", person("u2", Some("c2")), later());
        let e = LinkEntry {
            company: Some(CompanyStatus::Active),
            scopes: Some("omie:proxy".into()),
        };
        hot.put_link(hot.ticket(), "app1", "c1", e.clone());
        hot.put_link(hot.ticket(), "app1", "c2", e);
        hot.forget_company("c1");
        assert!(hot.person("h1").is_none());
        assert!(hot.person("h2").is_some());
        assert!(hot.link("app1", "c1").is_none());
        assert!(hot.link("app1", "c2").is_some());
    }

    #[test]
    fn another_process_replacing_the_epoch_file_drops_everything() {
        let dir = std::env::temp_dir().join(format!("otm-hot-{}", crate::crypto::new_token()));
        std::fs::create_dir_all(&dir).unwrap();
        let server = Hot::new(10);
        server.watch(&dir);
        let t = server.ticket();
        server.put_application(t, "a1", app("x"), later());
        assert!(server.application("a1").is_some());
        // The command: its invalidation replaces the file.
        let cli = Hot::new(10);
        cli.announce_to(&dir);
        cli.forget_app_token("a1");
        assert!(server.application("a1").is_none());
        // A read that began before the command's signal is not stored either.
        let t = server.ticket();
        announce_change(&dir).unwrap();
        server.put_application(t, "a1", app("x"), later());
        assert!(server.application("a1").is_none());
        // Every replacement is seen, however quick: the file the server saw is held
        // open, so a new file never gets its inode.
        for _ in 0..200 {
            server.put_application(server.ticket(), "a1", app("x"), later());
            assert!(server.application("a1").is_some());
            announce_change(&dir).unwrap();
            announce_change(&dir).unwrap();
            assert!(server.application("a1").is_none());
        }
        // Unchanged, the cache serves.
        server.put_application(server.ticket(), "a1", app("x"), later());
        assert!(server.application("a1").is_some());
        assert!(server.application("a1").is_some());
        // A removed file is a change too.
        let path = dir.join(EPOCH_FILE);
        server.put_application(server.ticket(), "a1", app("x"), later());
        std::fs::remove_file(&path).unwrap();
        assert!(server.application("a1").is_none());
        // The server made the file again, and watches it.
        assert!(path.exists());
        server.put_application(server.ticket(), "a1", app("x"), later());
        assert!(server.application("a1").is_some());
        announce_change(&dir).unwrap();
        assert!(server.application("a1").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

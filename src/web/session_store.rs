//! Page sessions: actix-session's middleware over a store of our own on the SQLite
//! `sessions` table.
//!
//! - The session key is 256 random bits (`crypto::new_token`: a CSPRNG seeded by the
//!   operating system); the cookie carries it encrypted under a key of ours
//!   (actix-session's private cookie), and the table keeps only its SHA-256. Neither the
//!   key nor the cookie is ever logged.
//! - The person, the address and the browser are the state's well-known keys
//!   ([`USER_ID`], [`IP`], [`USER_AGENT`]) and live in columns of their own, so "Minha
//!   conta" can list a person's sessions and a disable or a password change can end them
//!   all by `user_id`. Anything else a session holds (a future step-up's "last code at")
//!   is kept in the `state` column as JSON.
//! - Idle expiry (`OTM_SESSION_IDLE_MINUTES`) and the absolute limit
//!   (`OTM_SESSION_ABSOLUTE_HOURS`) are enforced when a session is loaded; its last-seen
//!   time is written at most every quarter of the idle window (at most every minute), not
//!   on every request, which would cost an fsync each.
//! - Only signed-in sessions are kept: a state without a person is not saved, so visitors
//!   who never sign in cannot fill the table.

use std::collections::HashMap;

use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Key, SameSite};
use chrono::Duration;

use super::SESSION_COOKIE;
use crate::crypto::{new_token, sha256_hex};
use crate::db::{self, Pool, sessions};
use crate::error::AppError;
use crate::services::app::App;
use crate::time;

/// The signed-in person's user id.
pub const USER_ID: &str = "user_id";
/// The address the session was started from.
pub const IP: &str = "ip";
/// The browser's User-Agent at sign-in (first 200 characters).
pub const USER_AGENT: &str = "user_agent";
/// Put in every loaded state by the store, never stored: the SHA-256 of the session key,
/// which names the session's row. "Minha conta" marks the current session with it, a
/// password change keeps it, and form tokens are bound to it.
pub const ROW: &str = "_row";

/// actix-session's state: keys to JSON-encoded values.
type State = HashMap<String, String>;

pub struct SqliteSessionStore {
    pool: Pool,
    idle_secs: u64,
    absolute_hours: u64,
    /// When this worker last wrote each session's last-seen time: most requests then
    /// need no trip to the database at all after the load (a restart forgets it, and
    /// the next request simply writes once).
    touched: std::sync::Mutex<HashMap<String, std::time::Instant>>,
}

/// Bounds `touched`: past this many sessions it starts again empty.
const MAX_TOUCHED: usize = 50_000;

impl SqliteSessionStore {
    pub fn new(pool: Pool, idle_secs: u64, absolute_hours: u64) -> Self {
        Self {
            pool,
            idle_secs,
            absolute_hours,
            touched: Default::default(),
        }
    }

    /// True when this worker wrote `row`'s last-seen time less than a touch interval ago.
    fn recently_touched(&self, row: &str) -> bool {
        let every = std::time::Duration::from_millis(self.touch_every_ms().max(0) as u64);
        let mut t = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() > MAX_TOUCHED {
            t.clear();
        }
        match t.get(row) {
            Some(at) if at.elapsed() < every => true,
            _ => {
                t.insert(row.to_string(), std::time::Instant::now());
                false
            }
        }
    }

    /// How often a session in use gets its last-seen time written.
    fn touch_every_ms(&self) -> i64 {
        i64::try_from(self.idle_secs * 1000 / 4)
            .unwrap_or(i64::MAX)
            .min(60_000)
    }
}

fn row_of(key: &SessionKey) -> String {
    sha256_hex(key.as_ref().as_bytes())
}

fn encoded(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

/// A well-known key's value, decoded (values are JSON-encoded strings).
fn text(state: &State, key: &str) -> Option<String> {
    serde_json::from_str(state.get(key)?).ok()
}

/// Splits a state into its columns (user id, ip, user agent) and the JSON of the rest.
fn split(mut state: State) -> Result<(Option<String>, String, String, String), anyhow::Error> {
    let user_id = text(&state, USER_ID);
    let ip = text(&state, IP).unwrap_or_default();
    let ua: String = text(&state, USER_AGENT)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    for k in [USER_ID, IP, USER_AGENT, ROW] {
        state.remove(k);
    }
    Ok((user_id, ip, ua, serde_json::to_string(&state)?))
}

fn internal(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("session store: {e}")
}

impl SessionStore for SqliteSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let row = row_of(key);
        let idle_ms = i64::try_from(self.idle_secs * 1000).unwrap_or(i64::MAX);
        let read_row = row.clone();
        let found = db::run(&self.pool, move |conn| Ok(sessions::get(conn, &read_row)?))
            .await
            .map_err(|e| LoadError::Other(internal(e)))?;
        let Some(s) = found else {
            return Ok(None);
        };
        let now = time::now();
        let last_seen = time::parse_db(&s.last_seen_at).unwrap_or(now);
        let absolute = time::parse_db(&s.absolute_expires_at).unwrap_or(now);
        if (now - last_seen).num_milliseconds() >= idle_ms || now >= absolute {
            self.pool
                .writer()
                .write(move |tx| Ok(sessions::delete(tx, &row)?))
                .await
                .map_err(|e| LoadError::Other(internal(e)))?;
            return Ok(None);
        }
        let mut state: State =
            serde_json::from_str(&s.state).map_err(|e| LoadError::Deserialization(e.into()))?;
        state.insert(USER_ID.into(), encoded(&s.user_id));
        state.insert(IP.into(), encoded(&s.ip));
        state.insert(USER_AGENT.into(), encoded(&s.user_agent));
        state.insert(ROW.into(), encoded(&s.id_hash));
        Ok(Some(state))
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let (user_id, ip, ua, rest) = split(state).map_err(SaveError::Serialization)?;
        let user_id = user_id.ok_or_else(|| {
            SaveError::Other(anyhow::anyhow!(
                "only signed-in sessions are kept: set the user id before anything else"
            ))
        })?;
        let key = new_token();
        let row = sha256_hex(key.as_bytes());
        let absolute_hours = i64::try_from(self.absolute_hours).unwrap_or(i64::MAX);
        self.pool
            .writer()
            .write(move |conn| {
                let now = time::now();
                // The setting is bounded, so the sum cannot overflow; were it to, the session
                // would end at once rather than never.
                let absolute = Duration::try_hours(absolute_hours)
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now);
                let new = sessions::NewSession {
                    id_hash: &row,
                    user_id: &user_id,
                    ip: &ip,
                    user_agent: &ua,
                    state: &rest,
                };
                sessions::insert(conn, &new, &time::to_db(now), &time::to_db(absolute))?;
                Ok(())
            })
            .await
            .map_err(|e| SaveError::Other(internal(e)))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let (user_id, _, _, rest) = split(state).map_err(UpdateError::Serialization)?;
        let row = row_of(&key);
        self.pool
            .writer()
            .write(move |conn| {
                let Some(user_id) = user_id else {
                    // A session without a person is no session here: cleared means ended.
                    sessions::delete(conn, &row)?;
                    return Ok(());
                };
                let n = sessions::update_state(conn, &row, &user_id, &rest, &time::now_db())?;
                if n == 0 && sessions::get(conn, &row)?.is_some() {
                    // Signing in as someone else must take a new key (`Session::renew`), or
                    // a key known before sign-in would be worth the new person's session.
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "a session's person changes only with a new key"
                    )));
                }
                // n == 0 otherwise: the session was ended meanwhile (signed out elsewhere, the
                // account disabled); it stays ended, and the cookie now leads nowhere.
                Ok(())
            })
            .await
            .map_err(|e| UpdateError::Other(internal(e)))?;
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        let row = row_of(key);
        if self.recently_touched(&row) {
            return Ok(());
        }
        let every = self.touch_every_ms();
        // A read first (on the pool): the write only when a quarter of the idle window
        // has passed since the last one.
        let read_row = row.clone();
        let seen = db::run(&self.pool, move |conn| {
            Ok(sessions::last_seen(conn, &read_row)?)
        })
        .await
        .map_err(internal)?;
        let Some(seen) = seen else {
            return Ok(());
        };
        let now = time::now();
        let seen = time::parse_db(&seen).unwrap_or(now);
        if (now - seen).num_milliseconds() >= every {
            self.pool
                .writer()
                .write(move |tx| Ok(sessions::touch(tx, &row, &time::to_db(now))?))
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let row = row_of(key);
        self.pool
            .writer()
            .write(move |tx| Ok(sessions::delete(tx, &row)?))
            .await
            .map_err(internal)?;
        Ok(())
    }
}

/// The session middleware with our cookie policy: `otm_session`, HttpOnly, SameSite=Lax,
/// Secure when `OTM_SECURE_COOKIES`, no Max-Age (it ends with the browser), the key
/// encrypted. Every request of a live session goes through `update_ttl`, which keeps the
/// idle window open (and writes only now and then).
pub fn middleware(app: &App) -> SessionMiddleware<SqliteSessionStore> {
    let s = &app.settings;
    let store = SqliteSessionStore::new(
        app.pool.clone(),
        s.session_idle_secs,
        s.session_absolute_hours,
    );
    let idle = CookieDuration::seconds(i64::try_from(s.session_idle_secs).unwrap_or(i64::MAX));
    // `derive_from` wants at least 32 bytes of key material: ours is exactly 32.
    let key = Key::derive_from(&app.keys.session_cookie);
    SessionMiddleware::builder(store, key)
        .cookie_name(SESSION_COOKIE.to_string())
        .cookie_path("/".to_string())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(s.secure_cookies)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(idle)
                .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build()
}

/// Makes `session` a new session of `user_id`: the old state is dropped and the key will
/// be new (the middleware deletes the old row and saves a new one), so an id known before
/// sign-in is worth nothing after it.
pub fn sign_in(
    session: &Session,
    user_id: &str,
    ip: &str,
    user_agent: &str,
) -> Result<(), AppError> {
    session.clear();
    session.renew();
    let insert = |k: &str, v: &str| {
        session
            .insert(k, v)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("session state: {e}")))
    };
    insert(USER_ID, user_id)?;
    insert(IP, ip)?;
    insert(USER_AGENT, user_agent)?;
    Ok(())
}

/// The signed-in person's id, when the request came with a live session.
pub fn user_id(session: &Session) -> Option<String> {
    session.get::<String>(USER_ID).ok().flatten()
}

/// The SHA-256 of the request's session key (the row's id), when it has a live session.
pub fn row(session: &Session) -> Option<String> {
    session.get::<String>(ROW).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteSessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::open(&dir.path().join("t.db"), 2).unwrap();
        rw(&dir)
            .execute(
                "INSERT INTO users (id, name, email, role, created_at, updated_at)
                 VALUES ('usr_a', 'A', 'a@a.com', 'owner', 'x', 'x')",
                [],
            )
            .unwrap();
        (dir, SqliteSessionStore::new(pool, 1800, 12))
    }

    /// A read-write connection of the test's own (the pool's are read-only), as another
    /// process would have.
    fn rw(dir: &tempfile::TempDir) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        c
    }

    fn signed_in() -> State {
        let mut s = State::new();
        s.insert(USER_ID.into(), encoded("usr_a"));
        s.insert(IP.into(), encoded("10.0.0.1"));
        s.insert(USER_AGENT.into(), encoded("Teste/1.0"));
        s.insert("mfa_at".into(), "1700000000".into());
        s
    }

    #[actix_web::test]
    async fn the_table_holds_the_hash_of_the_key_and_the_hash_opens_nothing() {
        let (_dir, store) = store();
        let ttl = CookieDuration::minutes(30);
        let key = store.save(signed_in(), &ttl).await.unwrap();
        let k = key.as_ref().to_string();
        let conn = store.pool.get().unwrap();
        let (id_hash, state, ip, ua): (String, String, String, String) = conn
            .query_row(
                "SELECT id_hash, state, ip, user_agent FROM sessions WHERE user_id = 'usr_a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(id_hash, sha256_hex(k.as_bytes()));
        assert!(!id_hash.contains(&k) && !state.contains(&k));
        assert_eq!((ip.as_str(), ua.as_str()), ("10.0.0.1", "Teste/1.0"));
        // The columns are not repeated in the state; the rest is.
        assert_eq!(state, r#"{"mfa_at":"1700000000"}"#);

        let loaded = store.load(&key).await.unwrap().unwrap();
        assert_eq!(text(&loaded, USER_ID).as_deref(), Some("usr_a"));
        assert_eq!(text(&loaded, ROW), Some(id_hash.clone()));
        assert_eq!(loaded.get("mfa_at").map(String::as_str), Some("1700000000"));
        // What the database file holds is no key.
        let from_db = SessionKey::try_from(id_hash).unwrap();
        assert!(store.load(&from_db).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn anonymous_state_is_not_kept_and_a_person_changes_only_with_a_new_key() {
        let (_dir, store) = store();
        let ttl = CookieDuration::minutes(30);
        let mut anon = State::new();
        anon.insert("x".into(), "1".into());
        assert!(store.save(anon, &ttl).await.is_err());

        let key = store.save(signed_in(), &ttl).await.unwrap();
        let mut other = signed_in();
        other.insert(USER_ID.into(), encoded("usr_b"));
        assert!(store.update(key, other, &ttl).await.is_err());
    }

    #[actix_web::test]
    async fn idle_and_absolute_limits_end_a_session_when_loaded() {
        let (_dir, store) = store();
        let ttl = CookieDuration::minutes(30);
        let key = store.save(signed_in(), &ttl).await.unwrap();
        let row = row_of(&key);
        let conn = rw(&_dir);
        let old = time::to_db(time::now() - Duration::minutes(31));
        conn.execute(
            "UPDATE sessions SET last_seen_at = ?1 WHERE id_hash = ?2",
            [&old, &row],
        )
        .unwrap();
        assert!(store.load(&key).await.unwrap().is_none());
        assert!(sessions::get(&conn, &row).unwrap().is_none(), "removed");

        let key = store.save(signed_in(), &ttl).await.unwrap();
        let row = row_of(&key);
        let past = time::to_db(time::now() - Duration::seconds(1));
        conn.execute(
            "UPDATE sessions SET absolute_expires_at = ?1 WHERE id_hash = ?2",
            [&past, &row],
        )
        .unwrap();
        assert!(store.load(&key).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn last_seen_is_written_only_after_a_quarter_of_the_idle_window() {
        let (_dir, store) = store();
        let ttl = CookieDuration::minutes(30);
        let key = store.save(signed_in(), &ttl).await.unwrap();
        let row = row_of(&key);
        let conn = rw(&_dir);
        let seen = |conn: &rusqlite::Connection| sessions::last_seen(conn, &row).unwrap().unwrap();
        let recent = time::to_db(time::now() - Duration::seconds(30));
        sessions::touch(&conn, &row, &recent).unwrap();
        store.update_ttl(&key, &ttl).await.unwrap();
        assert_eq!(
            seen(&conn),
            recent,
            "30 s ago is within a quarter: no write"
        );
        // Within the interval this worker does not even ask the database.
        let older = time::to_db(time::now() - Duration::seconds(61));
        sessions::touch(&conn, &row, &older).unwrap();
        store.update_ttl(&key, &ttl).await.unwrap();
        assert_eq!(
            seen(&conn),
            older,
            "no trip to the database within the interval"
        );
        // Another worker, or this one after a restart, knows only what the row says.
        store.touched.lock().unwrap().clear();
        store.update_ttl(&key, &ttl).await.unwrap();
        assert_ne!(seen(&conn), older, "written again after a minute");
    }
}

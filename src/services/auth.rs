//! Sign-in, sessions and API tokens.

use crate::db::Conn;
use crate::db::Tx;
use crate::domain::Action;
use std::sync::OnceLock;

use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

use super::app::App;
use super::known_clients::{self, Client};
use super::throttle::{FREE_FAILURES, SignInClient, delay_for, sign_in_keys};
use super::{Actor, ActorKind, Keys};
use crate::crypto::{new_token, sha256_hex};
use crate::db::{self, audit, sessions, tokens, users};
use crate::domain::{Password, Role, UserStatus};
use crate::error::{AppError, Inactive};
use crate::time;

pub fn hash_password(p: &Password, cost: u32) -> Result<String, AppError> {
    let _turn = BcryptGate::enter();
    bcrypt::hash(p.expose(), cost).map_err(|e| AppError::Internal(anyhow::anyhow!("bcrypt: {e}")))
}

/// Checks a password against a bcrypt hash, waiting for a turn at the gate.
fn bcrypt_verify(password: &str, hash: &str) -> bool {
    let _turn = BcryptGate::enter();
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// At most one bcrypt fewer than the machine has cores runs at once (at least one), so a
/// burst of sign-ins waits its turn instead of taking every core from the requests
/// that need a few microseconds (on the 2-core droplet: one core stays for them).
struct BcryptGate;

static GATE: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

impl BcryptGate {
    fn limit() -> usize {
        static LIMIT: OnceLock<usize> = OnceLock::new();
        *LIMIT.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1)
        })
    }

    /// Blocks (on the blocking pool, where bcrypt runs) until a turn is free.
    fn enter() -> BcryptTurn {
        let (lock, freed) = &GATE;
        let mut running = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= Self::limit() {
            running = freed.wait(running).unwrap_or_else(|p| p.into_inner());
        }
        *running += 1;
        BcryptTurn
    }
}

struct BcryptTurn;

impl Drop for BcryptTurn {
    fn drop(&mut self) {
        let (lock, freed) = &GATE;
        let mut running = lock.lock().unwrap_or_else(|p| p.into_inner());
        *running = running.saturating_sub(1);
        freed.notify_one();
    }
}

/// A hash to verify against when the e-mail is unknown, so both cases cost one bcrypt.
fn dummy_hash(cost: u32) -> &'static str {
    static DUMMY: OnceLock<(u32, String)> = OnceLock::new();
    let (_, h) = DUMMY.get_or_init(|| {
        (
            cost,
            bcrypt::hash("dummy password for timing", cost).unwrap_or_default(),
        )
    });
    h
}

/// Computes the dummy hash ahead of the first request.
pub fn warm_up(cost: u32) {
    let _ = dummy_hash(cost);
}

/// The authenticated person behind a session or token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: users::User,
    pub role: Role,
}

impl Principal {
    fn from_user(user: users::User) -> Option<Self> {
        let role = Some(user.role)?;
        (user.status == UserStatus::Active).then_some(Self { user, role })
    }

    pub fn actor(&self, ip: &str) -> Actor {
        Actor {
            kind: ActorKind::User {
                id: self.user.id.clone(),
                email: self.user.email.clone(),
                role: self.role,
                company_id: self.user.company_id.clone(),
            },
            ip: ip.to_string(),
        }
    }
}

pub struct LoginInput<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub ip: &'a str,
    /// The browser's device cookie (pages), if any: see `known_clients`.
    pub device: Option<&'a str>,
    pub user_agent: &'a str,
    /// The second factor's code, for the API (the page asks it in a second step).
    pub otp: Option<&'a str>,
}

impl LoginInput<'_> {
    fn client(&self) -> Client<'_> {
        Client {
            ip: self.ip,
            device: self.device,
            user_agent: self.user_agent,
        }
    }
}

/// What the sign-in page's first step (e-mail and password) leads to.
pub enum PageSignIn {
    /// Signed in: the session may be made.
    Done(Principal),
    /// The password is right and the person has a second factor: ask the code. Nothing
    /// is recorded as a sign-in yet.
    NeedsCode(Principal),
}

/// Sign-in on the sign-in page: checks the password; without a second factor, ends the
/// browser's old session if any and records the sign-in. The new session itself (with a
/// new key) is saved by the session middleware once the handler has put the person in it.
pub fn sign_in_page(
    app: &App,
    input: &LoginInput<'_>,
    old_session: Option<&str>,
) -> Result<PageSignIn, AppError> {
    let p = check_credentials(app, input)?;
    let conn = &mut app.pool.get()?;
    if super::mfa::enabled(conn, &p.user.id)? {
        return Ok(PageSignIn::NeedsCode(p));
    }
    finish_page(
        conn,
        &app.keys,
        None,
        &app.settings.base_url,
        &p,
        &input.client(),
        old_session,
    )?;
    Ok(PageSignIn::Done(p))
}

fn finish_page(
    conn: &mut Conn,
    keys: &Keys,
    mark: Option<&str>,
    base_url: &str,
    p: &Principal,
    client: &Client<'_>,
    old_session: Option<&str>,
) -> Result<(), AppError> {
    if let Some(old) = old_session {
        end_session(conn, keys, old, client.ip)?;
    }
    let w_keys = keys.to_owned();
    let w_base_url = base_url.to_owned();
    let w_p = p.to_owned();
    let w_client = client.owned();
    let mark = mark.map(str::to_owned);
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let base_url = &w_base_url;
        let p = &w_p;
        let client = &w_client.client();
        let mark = mark.as_deref();
        // A pending sign-in counts once: the sign-in it is bound to must still be the
        // last, checked and replaced in this one (immediate) transaction.
        if let Some(m) = mark
            && users::login_mark(tx, &p.user.id)?.as_deref() != Some(m)
        {
            return Err(AppError::Unauthenticated);
        }
        let now = time::now_db();
        record_login(tx, keys, p, client.ip, "page", &now)?;
        known_clients::signed_in(tx, keys, base_url, &p.user, client, &now)?;
        Ok(())
    })
}

/// The sign-in page's second step: the code of the person whose password checked out a
/// moment ago (the caller proves that with its short-lived pending state). The person is
/// looked up again: disabled meanwhile means no entry. The pending state is bound to the
/// person's last sign-in ([`login_mark`]): `pending_ok(mark)` tells whether it was made
/// for this one, and a sign-in (this one or any other) spends it, so a captured pending
/// cookie is refused once a code was accepted with it.
pub fn sign_in_page_code(
    app: &App,
    user_id: &str,
    code: &str,
    client: &Client<'_>,
    old_session: Option<&str>,
    pending_ok: &dyn Fn(&str) -> bool,
) -> Result<Principal, AppError> {
    let conn = &mut app.pool.get()?;
    let p = session_principal(conn, user_id)?.ok_or(AppError::Unauthenticated)?;
    let mark = p.user.last_login_at.clone().unwrap_or_default();
    if !pending_ok(&mark) {
        return Err(AppError::Unauthenticated);
    }
    super::mfa::verify(
        conn,
        &app.keys,
        &app.settings.base_url,
        &p.user,
        code,
        client.ip,
    )?;
    finish_page(
        conn,
        &app.keys,
        Some(&mark),
        &app.settings.base_url,
        &p,
        client,
        old_session,
    )?;
    Ok(p)
}

/// What a pending sign-in of `user_id` is bound to: when they last signed in (`""` if
/// never); `None` for no such person.
pub fn login_mark(conn: &Connection, user_id: &str) -> Result<Option<String>, AppError> {
    Ok(users::login_mark(conn, user_id)?)
}

/// Sign-in through the API: checks the password, then the second factor when the
/// person has one (`otp`: a TOTP code or a recovery code), and issues a bearer token.
pub fn sign_in_api(app: &App, input: &LoginInput<'_>) -> Result<String, AppError> {
    let p = check_credentials(app, input)?;
    let conn = &mut app.pool.get()?;
    if super::mfa::enabled(conn, &p.user.id)? {
        let code = input
            .otp
            .filter(|c| !c.trim().is_empty())
            .ok_or(AppError::MfaRequired)?;
        super::mfa::verify(
            conn,
            &app.keys,
            &app.settings.base_url,
            &p.user,
            code,
            input.ip,
        )?;
    }
    let token = new_token();
    let client = input.client().owned();
    let keys = app.keys.clone();
    let (base_url, ttl) = (app.settings.base_url.clone(), app.settings.token_ttl_secs);
    db::write(conn, move |tx| {
        let now = time::now_db();
        insert_token(tx, &keys, &p, &token, &client.ip, ttl)?;
        known_clients::signed_in(tx, &keys, &base_url, &p.user, &client.client(), &now)?;
        Ok(token)
    })
}

/// Checks e-mail and password. Unknown e-mail and wrong password take the same time and
/// give the same answer. Failures are counted before bcrypt, on the keys the sign-in
/// policy names (`throttle::sign_in_keys`: the address, and the account unless the
/// client is known for it); an account's failures outlive a restart (they are kept in
/// its row). No connection is held during bcrypt (a quarter of a second at cost 12).
pub fn check_credentials(app: &App, input: &LoginInput<'_>) -> Result<Principal, AppError> {
    let email = input.email.trim().to_lowercase();
    let (user, client) = {
        let conn = &*app.pool.get()?;
        let user = users::by_email(conn, &email)?;
        let client = match &user {
            Some(u) => known_clients::classify(conn, &u.id, &input.client())?,
            None => SignInClient::Unknown,
        };
        (user, client)
    };
    let policy = sign_in_keys(input.ip, &email, &client);
    if let Some(u) = &user
        && let Some(acctk) = &policy.account
        && let Some(last) = u.last_failed_at.as_deref().and_then(time::parse_db)
    {
        let ago = (time::now() - last).to_std().unwrap_or_default();
        let failures = u32::try_from(u.failed_attempts).unwrap_or(0);
        app.throttle.seed(acctk, failures, ago);
    }
    let keys: Vec<&str> = policy.keys.iter().map(String::as_str).collect();
    let failures = app
        .throttle
        .reserve(&keys)
        .map_err(|retry_after_secs| AppError::Throttled { retry_after_secs })?;
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash(app.settings.bcrypt_cost).to_string());
    let password_ok = bcrypt_verify(input.password, &hash);
    let verified = user
        .clone()
        .filter(|u| u.password_hash.is_some() && password_ok);
    let keys = &app.keys;
    match verified {
        Some(u) => {
            for k in &policy.keys {
                app.throttle.clear(k);
            }
            let conn = &mut app.pool.get()?;
            if let Some(why) = inactive_reason(conn, &u)? {
                let ip = input.ip.to_string();
                let keys = keys.clone();
                db::write(conn, move |tx| {
                    let now = time::now_db();
                    let mut entry =
                        Actor::system_at(&ip).entry(Action::AuthLoginRefused, "user", Some(&u.id));
                    entry.actor_label = u.email.clone();
                    entry.company_id = u.company_id.clone();
                    entry.details = json!({ "status": u.status });
                    audit::append(tx, &keys.audit, &now, &entry)?;
                    Ok(())
                })?;
                return Err(AppError::AccountInactive(why));
            }
            Principal::from_user(u).ok_or(AppError::InvalidCredentials)
        }
        None => {
            // The failure was counted by the reservation, before anything could fail.
            let conn = &mut app.pool.get()?;
            let ip = input.ip.to_string();
            let keys = keys.clone();
            db::write(conn, move |tx| {
                let now = time::now_db();
                let mut entry = Actor::system_at(&ip).entry(Action::AuthLoginFailed, "user", None);
                if let Some(u) = &user {
                    // Only failures counted on the account are the account's to keep.
                    if policy.account.is_some() {
                        let locked = (failures >= FREE_FAILURES).then(|| {
                            time::to_db(
                                time::now()
                                    + Duration::from_std(delay_for(failures)).unwrap_or_default(),
                            )
                        });
                        users::record_failure(
                            tx,
                            &u.id,
                            i64::from(failures),
                            locked.as_deref(),
                            &now,
                        )?;
                    }
                    entry.entity_id = Some(u.id.clone());
                    entry.company_id = u.company_id.clone();
                }
                // The typed e-mail, never the password — and only when it looks like an
                // address, in case a password was typed into the e-mail field.
                let typed = crate::domain::Email::parse(&email)
                    .map(|e| e.as_str().to_string())
                    .unwrap_or_else(|_| "(não é um e-mail)".to_string());
                entry.actor_label = typed.clone();
                entry.details = json!({ "email": typed, "failures": failures });
                audit::append(tx, &keys.audit, &now, &entry)?;
                Ok(())
            })?;
            Err(AppError::InvalidCredentials)
        }
    }
}

fn record_login(
    tx: &Tx<'_>,
    keys: &Keys,
    p: &Principal,
    ip: &str,
    via: &str,
    now: &str,
) -> Result<(), AppError> {
    users::record_login(tx, &p.user.id, now)?;
    let mut entry = p
        .actor(ip)
        .entry(Action::AuthLogin, "user", Some(&p.user.id));
    entry.company_id = p.user.company_id.clone();
    entry.details = json!({ "via": via });
    audit::append(tx, &keys.audit, now, &entry)?;
    Ok(())
}

/// Why someone whose password is right may still not enter, if anything.
fn inactive_reason(conn: &Connection, u: &users::User) -> Result<Option<Inactive>, AppError> {
    let why = match Some(u.status) {
        Some(UserStatus::Active) if !super::users::company_allows_sign_in(conn, u)? => {
            if super::users::company_archived(conn, u)? {
                Some(Inactive::CompanyArchived)
            } else {
                Some(Inactive::CompanyInactive)
            }
        }
        Some(UserStatus::Active) => None,
        Some(UserStatus::Pending) => Some(Inactive::Pending),
        Some(UserStatus::Disabled) if u.rejected_at.is_some() => {
            Some(Inactive::Rejected(u.status_reason.clone()))
        }
        _ => Some(Inactive::Disabled),
    };
    Ok(why)
}

/// The person of a live page session (the session store has already enforced idle and
/// absolute expiry), if they may still be signed in.
pub fn session_principal(conn: &Connection, user_id: &str) -> Result<Option<Principal>, AppError> {
    let Some(user) = users::get(conn, user_id)? else {
        return Ok(None);
    };
    // A suspended or archived company locks its people out at once, open sessions too.
    if !super::users::company_allows_sign_in(conn, &user)? {
        return Ok(None);
    }
    Ok(Principal::from_user(user))
}

/// Ends the page session whose row is `id_hash` (the SHA-256 of its key) and records the
/// sign-out in the same transaction.
pub fn end_session(conn: &mut Conn, keys: &Keys, id_hash: &str, ip: &str) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_id_hash = id_hash.to_owned();
    let w_ip = ip.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let id_hash = &w_id_hash;
        let ip = &w_ip;
        let Some(s) = sessions::get(tx, id_hash)? else {
            return Ok(());
        };
        sessions::delete(tx, id_hash)?;
        if let Some(p) = users::get(tx, &s.user_id)?.and_then(Principal::from_user) {
            let now = time::now_db();
            let mut entry = p
                .actor(ip)
                .entry(Action::AuthLogout, "user", Some(&p.user.id));
            entry.company_id = p.user.company_id.clone();
            audit::append(tx, &keys.audit, &now, &entry)?;
        }
        Ok(())
    })
}

/// Stores `token` (its SHA-256) for `p` and records the sign-in, in the caller's
/// transaction.
fn insert_token(
    tx: &Tx<'_>,
    keys: &Keys,
    p: &Principal,
    token: &str,
    ip: &str,
    ttl_secs: u64,
) -> Result<(), AppError> {
    let now_t = time::now();
    let now = time::to_db(now_t);
    let expires = time::to_db(now_t + Duration::seconds(ttl_secs as i64));
    tokens::insert(
        tx,
        &sha256_hex(token.as_bytes()),
        &p.user.id,
        &now,
        &expires,
    )?;
    record_login(tx, keys, p, ip, "api", &now)
}

pub fn resolve_token(conn: &Connection, token: &str) -> Result<Option<Principal>, AppError> {
    Ok(resolve_token_until(conn, token)?.map(|(p, _)| p))
}

/// [`resolve_token`] and when the token expires (its `expires_at`, as stored).
pub fn resolve_token_until(
    conn: &Connection,
    token: &str,
) -> Result<Option<(Principal, String)>, AppError> {
    let Some((user_id, expires_at)) =
        tokens::live_user_until(conn, &sha256_hex(token.as_bytes()), &time::now_db())?
    else {
        return Ok(None);
    };
    let Some(user) = users::get(conn, &user_id)? else {
        return Ok(None);
    };
    if !super::users::company_allows_sign_in(conn, &user)? {
        return Ok(None);
    }
    Ok(Principal::from_user(user).map(|p| (p, expires_at)))
}

pub fn revoke_token(
    conn: &mut Conn,
    keys: &Keys,
    p: &Principal,
    token: &str,
    ip: &str,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_p = p.to_owned();
    let w_token = token.to_owned();
    let w_ip = ip.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let p = &w_p;
        let token = &w_token;
        let ip = &w_ip;
        let now = time::now_db();
        tokens::revoke(tx, &sha256_hex(token.as_bytes()), &now)?;
        let mut entry = p
            .actor(ip)
            .entry(Action::AuthLogout, "user", Some(&p.user.id));
        entry.company_id = p.user.company_id.clone();
        entry.details = json!({ "via": "api" });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_person_token(&sha256_hex(token.as_bytes())))
}

/// Housekeeping: forget expired sessions and tokens.
pub fn purge_expired(conn: &Connection, idle_secs: u64) -> Result<usize, AppError> {
    let now = time::now();
    let idle_cutoff = time::to_db(now - Duration::seconds(idle_secs as i64));
    let n = sessions::delete_expired(conn, &idle_cutoff, &time::to_db(now))?;
    known_clients::purge(conn)?;
    Ok(n + tokens::delete_expired(conn, &time::to_db(now))?)
}

/// Whether `password` is the person's (a signed-in person typing it again).
pub fn password_matches(u: &crate::db::users::User, password: &str) -> bool {
    u.password_hash
        .as_deref()
        .is_some_and(|h| bcrypt_verify(password, h))
}

/// Ends the bearer token a request came with, a person's or an application's: it stops
/// working at once.
pub fn sign_out_api(
    conn: &mut Conn,
    keys: &Keys,
    principal: Option<&Principal>,
    actor: &Actor,
    token: &str,
) -> Result<(), AppError> {
    match principal {
        Some(p) => revoke_token(conn, keys, p, token, &actor.ip),
        None => super::applications::revoke_own_token(conn, keys, actor, token),
    }
}

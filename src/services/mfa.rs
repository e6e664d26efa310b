//! The second factor (TOTP, RFC 6238: SHA-1, 6 digits, 30-s steps) and its recovery
//! codes; who must use it; step-up before sensitive actions; the break-glass reset.
//!
//! - The secret (160 random bits) is sealed under the master key like the Omie
//!   credentials, bound to its person (`mfa:{user_id}:totp`).
//! - A code of the current or the previous step is accepted. The step is taken with a
//!   conditional UPDATE (`last_step < step`), so a code accepted once is refused after,
//!   even when two requests race.
//! - Five wrong codes in a row lock the factor for 15 minutes and e-mail the person.
//! - Recovery codes: ten, 50 random bits each, stored as SHA-256, single use (another
//!   conditional UPDATE).
//! - Nothing here logs or audits a secret or a code.

use crate::db::Conn;
use crate::db::Tx;
use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};

use super::app::App;
use super::auth::Principal;
use super::{Actor, Keys};
use crate::config::Settings;
use crate::crypto::{key_bytes, random_bytes, sha256_hex};
use crate::db::{self, app_settings, audit, mfa as store, users};
use crate::domain::{Action, Role};
use crate::email::{self, MfaNotice};
use crate::error::AppError;
use crate::time;

/// Wrong codes in a row that lock the factor.
pub const LOCK_AFTER: i64 = 5;
/// How long a locked factor stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;
const STEP_SECS: u64 = 30;
const ISSUER: &str = "Omie Tenant Manager";
/// The dashboard setting that adds company admins to the roles that must use it.
pub const COMPANY_ADMIN_SETTING: &str = "mfa_required_company_admin";

fn aad(user_id: &str) -> String {
    format!("mfa:{user_id}:totp")
}

fn me(actor: &Actor) -> Result<&str, AppError> {
    actor.user_id().ok_or(AppError::Forbidden)
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP_SECS)
        .with_skew(1)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("totp: {e:?}")))
}

/// What a person's enrolment shows: the secret in base32 and the `otpauth://` URI.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

fn enrolment(t: &Totp) -> Result<Enrolment, AppError> {
    Ok(Enrolment {
        secret: t.secret().to_base32(),
        otpauth_uri: t
            .to_url()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth uri: {e:?}")))?,
    })
}

fn open_secret(keys: &Keys, f: &store::Factor) -> Result<Vec<u8>, AppError> {
    keys.ring
        .open(&aad(&f.user_id), &f.secret_sealed)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot open a second-factor secret: {e}")))
}

// ---- policy -------------------------------------------------------------------------

/// Whether the owner asked (on the settings page) that company admins use it too.
pub fn company_admin_required(conn: &Connection) -> Result<bool, AppError> {
    Ok(app_settings::get(conn, COMPANY_ADMIN_SETTING)?.as_deref() == Some("true"))
}

/// Whether `role` must use a second factor: `OTM_MFA_REQUIRED`, plus company admins when
/// the owner asked. `OTM_MFA_REQUIRED=none` turns every requirement off.
pub fn required_for(conn: &Connection, settings: &Settings, role: Role) -> Result<bool, AppError> {
    if settings.mfa_required.is_empty() {
        return Ok(false);
    }
    if settings.mfa_required.contains(&role) {
        return Ok(true);
    }
    Ok(role == Role::CompanyAdmin && company_admin_required(conn)?)
}

/// True when the person must enrol before anything else.
pub fn must_enrol(conn: &Connection, settings: &Settings, p: &Principal) -> Result<bool, AppError> {
    Ok(required_for(conn, settings, p.role)? && !store::enabled(conn, &p.user.id)?)
}

pub fn enabled(conn: &Connection, user_id: &str) -> Result<bool, AppError> {
    Ok(store::enabled(conn, user_id)?)
}

/// The owner's setting: require it of company admins. Owner only.
pub fn set_company_admin_required(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    on: bool,
) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => {}
        Some(Role::Staff) => return Err(AppError::Forbidden),
        _ => return Err(AppError::NotFound),
    }
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        app_settings::set(
            tx,
            COMPANY_ADMIN_SETTING,
            if on { "true" } else { "false" },
            &now,
        )?;
        let mut entry = actor.entry(
            Action::MfaPolicyUpdate,
            "setting",
            Some(COMPANY_ADMIN_SETTING),
        );
        entry.details = json!({ "company_admin_required": on });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.clear())
}

/// What "Minha conta" and `GET /api/v1/me` show.
#[derive(Clone, Debug)]
pub struct Status {
    pub enabled: bool,
    /// An enrolment started and not confirmed yet.
    pub pending: bool,
    pub required: bool,
    pub codes_left: i64,
    /// Until when (RFC 3339 in the database's form) the factor is locked, if it is.
    pub locked_until: Option<String>,
}

pub fn status(conn: &Connection, settings: &Settings, p: &Principal) -> Result<Status, AppError> {
    let f = store::get(conn, &p.user.id)?;
    let now = time::now();
    Ok(Status {
        enabled: f.as_ref().is_some_and(|f| f.confirmed_at.is_some()),
        pending: f.as_ref().is_some_and(|f| f.confirmed_at.is_none()),
        required: required_for(conn, settings, p.role)?,
        codes_left: store::codes_left(conn, &p.user.id)?,
        locked_until: f
            .and_then(|f| f.locked_until)
            .filter(|u| time::parse_db(u).is_some_and(|u| u > now)),
    })
}

// ---- e-mail -------------------------------------------------------------------------

enum Notice {
    On,
    Off,
    RecoveryUsed { left: i64 },
    Locked,
}

fn notify(
    tx: &Connection,
    keys: &Keys,
    base_url: &str,
    user: &users::User,
    notice: Notice,
    ip: &str,
) -> Result<(), AppError> {
    let advice = "Se não foi você, troque sua senha agora e avise quem administra o sistema:";
    let (subject, headline, detail) = match notice {
        Notice::On => (
            "Verificação em duas etapas ativada",
            "A verificação em duas etapas foi ativada na sua conta.".to_string(),
            "A partir de agora, ao entrar, pediremos também o código de 6 dígitos do seu aplicativo autenticador. Guarde os códigos de recuperação em lugar seguro.".to_string(),
        ),
        Notice::Off => (
            "Verificação em duas etapas desativada",
            "A verificação em duas etapas foi desativada na sua conta.".to_string(),
            "Sua conta volta a pedir só a senha para entrar.".to_string(),
        ),
        Notice::RecoveryUsed { left } => (
            "Um código de recuperação foi usado",
            "Um dos seus códigos de recuperação acabou de ser usado para entrar na sua conta.".to_string(),
            format!(
                "Cada código vale uma vez só. Restam {left} código(s). Se estiver acabando, gere novos em Minha conta."
            ),
        ),
        Notice::Locked => (
            "Verificação em duas etapas bloqueada",
            format!(
                "Foram digitados {LOCK_AFTER} códigos de verificação errados seguidos na sua conta."
            ),
            format!(
                "Por segurança, a verificação ficou bloqueada por {LOCK_MINUTES} minutos. Quem tentou já sabia sua senha (endereço: {ip})."
            ),
        ),
    };
    let mail = MfaNotice {
        name: user.name.clone(),
        headline,
        detail,
        advice: advice.to_string(),
        link: format!("{base_url}/login"),
    }
    .to_outgoing(&user.email, subject.to_string())?;
    email::queue(tx, &keys.ring, &mail, &time::now_db())?;
    Ok(())
}

// ---- checking a code ----------------------------------------------------------------

/// What a code that checked out was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Totp,
    Recovery,
}

enum Outcome {
    Ok(Used),
    Wrong,
    Locked(u64),
}

/// A code as typed: spaces and hyphens dropped, letters upper-cased.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn recovery_hash(user_id: &str, normalized: &str) -> String {
    sha256_hex(format!("otm-recovery-v1:{user_id}:{normalized}").as_bytes())
}

/// Checks `code` for `user` inside `tx`. A wrong code is counted (and may lock the
/// factor, with an audit row and an e-mail): the caller commits either way and turns
/// the outcome into an answer after.
#[allow(clippy::too_many_arguments)]
fn check_in(
    tx: &Tx<'_>,
    keys: &Keys,
    base_url: &str,
    user: &users::User,
    code: &str,
    ip: &str,
    allow_pending: bool,
    allow_recovery: bool,
) -> Result<Outcome, AppError> {
    let Some(f) = store::get(tx, &user.id)? else {
        return Ok(Outcome::Wrong);
    };
    if f.confirmed_at.is_none() && !allow_pending {
        return Ok(Outcome::Wrong);
    }
    let now_t = time::now();
    let now = time::to_db(now_t);
    if let Some(until) = f.locked_until.as_deref().and_then(time::parse_db)
        && until > now_t
    {
        let secs = (until - now_t).num_seconds().max(1) as u64;
        return Ok(Outcome::Locked(secs));
    }
    let code = normalize(code);
    let unix = u64::try_from(now_t.timestamp()).unwrap_or(0);
    let current = unix / STEP_SECS;
    let used = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let t = totp(open_secret(keys, &f)?, &user.email)?;
        // `check` looks one step either way; only the current and previous count.
        match t.check(&code, unix) {
            Some(step) if step <= current => {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                (store::take_step(tx, &user.id, step, &now)? == 1).then_some(Used::Totp)
            }
            _ => None,
        }
    } else if allow_recovery && f.confirmed_at.is_some() && !code.is_empty() {
        let hash = recovery_hash(&user.id, &code);
        (store::use_code(tx, &user.id, &hash, &now)? == 1).then_some(Used::Recovery)
    } else {
        None
    };
    let actor = Actor::system_at(ip);
    match used {
        Some(u) => {
            store::clear_failures(tx, &user.id, &now)?;
            if u == Used::Recovery {
                let left = store::codes_left(tx, &user.id)?;
                let mut entry = actor.entry(Action::MfaRecoveryUsed, "user", Some(&user.id));
                entry.actor_label = user.email.clone();
                entry.company_id = user.company_id.clone();
                entry.details = json!({ "left": left });
                audit::append(tx, &keys.audit, &now, &entry)?;
                notify(tx, keys, base_url, user, Notice::RecoveryUsed { left }, ip)?;
            }
            Ok(Outcome::Ok(u))
        }
        None => {
            let failures = store::record_failure(tx, &user.id, &now)?;
            let mut entry = actor.entry(Action::MfaCodeRejected, "user", Some(&user.id));
            entry.actor_label = user.email.clone();
            entry.company_id = user.company_id.clone();
            entry.details = json!({ "failures": failures });
            audit::append(tx, &keys.audit, &now, &entry)?;
            if failures >= LOCK_AFTER {
                let until = time::to_db(now_t + Duration::minutes(LOCK_MINUTES));
                store::lock(tx, &user.id, &until, &now)?;
                let mut entry = actor.entry(Action::MfaLocked, "user", Some(&user.id));
                entry.actor_label = user.email.clone();
                entry.company_id = user.company_id.clone();
                entry.details = json!({ "minutes": LOCK_MINUTES });
                audit::append(tx, &keys.audit, &now, &entry)?;
                notify(tx, keys, base_url, user, Notice::Locked, ip)?;
                return Ok(Outcome::Locked((LOCK_MINUTES * 60) as u64));
            }
            Ok(Outcome::Wrong)
        }
    }
}

fn into_result(o: Outcome) -> Result<Used, AppError> {
    match o {
        Outcome::Ok(u) => Ok(u),
        Outcome::Wrong => Err(AppError::InvalidOtp),
        Outcome::Locked(secs) => Err(AppError::MfaLocked {
            retry_after_secs: secs,
        }),
    }
}

/// Checks a code (TOTP or recovery code) of `user` with a confirmed factor, in a
/// transaction of its own; wrong codes are counted even though this answers an error.
pub fn verify(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    user: &users::User,
    code: &str,
    ip: &str,
) -> Result<Used, AppError> {
    let w_keys = keys.to_owned();
    let w_base_url = base_url.to_owned();
    let w_user = user.to_owned();
    let w_code = code.to_owned();
    let w_ip = ip.to_owned();
    let o = db::write(conn, move |tx| {
        check_in(
            tx,
            &w_keys,
            &w_base_url,
            &w_user,
            &w_code,
            &w_ip,
            false,
            true,
        )
    })?;
    into_result(o)
}

// ---- enrolment ----------------------------------------------------------------------

/// The signed-in person's own row (for `GET /api/v1/me`).
pub fn person(conn: &Connection, actor: &Actor) -> Result<users::User, AppError> {
    users::get(conn, me(actor)?)?.ok_or(AppError::NotFound)
}

/// Starts an enrolment: a new secret, not counted until confirmed. A second start
/// replaces an unconfirmed secret; with a confirmed factor it is refused (409).
pub fn start(conn: &mut Conn, keys: &Keys, actor: &Actor) -> Result<Enrolment, AppError> {
    let user = person(conn, actor)?;
    let secret = key_bytes::<20>().to_vec();
    let t = totp(secret.clone(), &user.email)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        if store::enabled(tx, &user.id)? {
            return Err(AppError::Conflict(vec![crate::error::FieldError::new(
                "mfa",
                "A verificação em duas etapas já está ativa nesta conta.",
            )]));
        }
        let now = time::now_db();
        store::put_pending(tx, &user.id, &keys.ring.seal(&aad(&user.id), &secret), &now)?;
        let mut entry = actor.entry(Action::MfaEnrolStart, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })?;
    enrolment(&t)
}

/// The enrolment started and not confirmed, to show again (QR code and secret).
pub fn pending(
    conn: &Connection,
    keys: &Keys,
    actor: &Actor,
) -> Result<Option<Enrolment>, AppError> {
    let user = person(conn, actor)?;
    match store::get(conn, &user.id)? {
        Some(f) if f.confirmed_at.is_none() => {
            let t = totp(open_secret(keys, &f)?, &user.email)?;
            Ok(Some(enrolment(&t)?))
        }
        _ => Ok(None),
    }
}

fn new_codes(user_id: &str) -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = random_bytes::<10>();
        let raw: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(b & 31)] as char)
            .collect();
        hashes.push(recovery_hash(user_id, &raw));
        shown.push(format!("{}-{}", &raw[..5], &raw[5..]));
    }
    (shown, hashes)
}

/// Confirms the enrolment with a code from the app: the factor counts from now on.
/// Returns the ten recovery codes, shown this once.
pub fn confirm(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    actor: &Actor,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let user = person(conn, actor)?;
    let forget = user.id.clone();
    let w_keys = keys.to_owned();
    let w_base_url = base_url.to_owned();
    let w_actor = actor.to_owned();
    let w_code = code.to_owned();
    let result = db::write(conn, move |tx| {
        let keys = &w_keys;
        let base_url = &w_base_url;
        let actor = &w_actor;
        let code = &w_code;
        match store::get(tx, &user.id)? {
            Some(f) if f.confirmed_at.is_none() => {}
            Some(_) => {
                return Err(AppError::Conflict(vec![crate::error::FieldError::new(
                    "mfa",
                    "A verificação em duas etapas já está ativa nesta conta.",
                )]));
            }
            None => {
                return Err(AppError::Conflict(vec![crate::error::FieldError::new(
                    "mfa",
                    "Comece a ativação primeiro: ainda não há um segredo para confirmar.",
                )]));
            }
        }
        match check_in(tx, keys, base_url, &user, code, &actor.ip, true, false)? {
            Outcome::Ok(_) => {}
            other => return Ok(Err(other)),
        }
        let now = time::now_db();
        store::confirm(tx, &user.id, &now)?;
        let (shown, hashes) = new_codes(&user.id);
        store::replace_codes(tx, &user.id, &hashes, &now)?;
        let mut entry = actor.entry(Action::MfaEnable, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        notify(tx, keys, base_url, &user, Notice::On, &actor.ip)?;
        Ok(Ok(shown))
    })?;
    keys.hot.forget_user(&forget);
    result.or_else(|o| into_result(o).map(|_| vec![]))
}

/// The answer to acting on a factor the person has not turned on.
fn not_enabled() -> AppError {
    AppError::Conflict(vec![crate::error::FieldError::new(
        "mfa",
        "A verificação em duas etapas não está ativa nesta conta.",
    )])
}

/// New recovery codes (the old ones stop working), after a code.
pub fn regenerate_codes(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    actor: &Actor,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let user = person(conn, actor)?;
    let w_keys = keys.to_owned();
    let w_base_url = base_url.to_owned();
    let w_actor = actor.to_owned();
    let w_code = code.to_owned();
    let result = db::write(conn, move |tx| {
        let keys = &w_keys;
        let base_url = &w_base_url;
        let actor = &w_actor;
        let code = &w_code;
        if !store::enabled(tx, &user.id)? {
            return Err(not_enabled());
        }
        match check_in(tx, keys, base_url, &user, code, &actor.ip, false, false)? {
            Outcome::Ok(_) => {}
            other => return Ok(Err(other)),
        }
        let now = time::now_db();
        let (shown, hashes) = new_codes(&user.id);
        store::replace_codes(tx, &user.id, &hashes, &now)?;
        let mut entry = actor.entry(Action::MfaRecoveryRegenerate, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(Ok(shown))
    })?;
    result.or_else(|o| into_result(o).map(|_| vec![]))
}

/// Turns the factor off after a code (TOTP or recovery code). Refused (403) for a role
/// that must use it.
pub fn disable(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
    code: &str,
) -> Result<(), AppError> {
    let user = person(conn, actor)?;
    if required_for(conn, settings, user.role)? {
        return Err(AppError::Forbidden);
    }
    let base_url = settings.base_url.clone();
    let forget = user.id.clone();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_code = code.to_owned();
    let result = db::write(conn, move |tx| {
        let base_url = base_url.as_str();
        let keys = &w_keys;
        let actor = &w_actor;
        let code = &w_code;
        if !store::enabled(tx, &user.id)? {
            return Err(not_enabled());
        }
        match check_in(tx, keys, base_url, &user, code, &actor.ip, false, true)? {
            Outcome::Ok(_) => {}
            other => return Ok(Err(other)),
        }
        let now = time::now_db();
        store::delete(tx, &user.id)?;
        let mut entry = actor.entry(Action::MfaDisable, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        notify(tx, keys, base_url, &user, Notice::Off, &actor.ip)?;
        Ok(Ok(()))
    })?;
    keys.hot.forget_user(&forget);
    result.or_else(|o| into_result(o).map(|_| ()))
}

// ---- step-up ------------------------------------------------------------------------

/// Confirms a signed-in person's identity before a sensitive action: a code of their
/// second factor (a recovery code too), or — for a person without one — their password
/// again. Wrong passwords are throttled like sign-ins. Runs bcrypt: call it through
/// `App::blocking`.
pub fn step_up(app: &App, actor: &Actor, answer: &str) -> Result<Used, AppError> {
    let conn = &mut app.pool.get()?;
    let user = person(conn, actor)?;
    if store::enabled(conn, &user.id)? {
        let used = verify(
            conn,
            &app.keys,
            &app.settings.base_url,
            &user,
            answer,
            &actor.ip,
        )?;
        let w_actor = actor.to_owned();
        let keys = app.keys.clone();
        db::write(conn, move |tx| {
            let actor = &w_actor;
            let mut entry = actor.entry(Action::AuthStepUp, "user", Some(&user.id));
            entry.company_id = user.company_id.clone();
            entry.details = json!({ "with": "code" });
            audit::append(tx, &keys.audit, &time::now_db(), &entry)?;
            Ok(())
        })?;
        return Ok(used);
    }
    let key = format!("stepup:{}", user.id);
    app.throttle
        .reserve(&[&key])
        .map_err(|retry_after_secs| AppError::Throttled { retry_after_secs })?;
    let ok = super::auth::password_matches(&user, answer);
    let action = if ok {
        app.throttle.clear(&key);
        Action::AuthStepUp
    } else {
        Action::AuthStepUpFailed
    };
    let w_actor = actor.to_owned();
    let keys = app.keys.clone();
    db::write(conn, move |tx| {
        let actor = &w_actor;
        let mut entry = actor.entry(action, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        entry.details = json!({ "with": "password" });
        audit::append(tx, &keys.audit, &time::now_db(), &entry)?;
        Ok(())
    })?;
    if ok {
        Ok(Used::Totp)
    } else {
        Err(AppError::field(
            "answer",
            "Senha incorreta. Confira e tente de novo.",
        ))
    }
}

// ---- break-glass --------------------------------------------------------------------

/// `admin reset-mfa`: removes a person's second factor, ends all their page sessions and
/// API tokens, and e-mails every owner. Returns the person.
pub fn reset(
    conn: &mut Conn,
    keys: &Keys,
    base_url: &str,
    email: &str,
) -> Result<users::User, AppError> {
    let email = email.trim().to_lowercase();
    let user = users::by_email(conn, &email)?.ok_or(AppError::NotFound)?;
    let w_keys = keys.to_owned();
    let w_base_url = base_url.to_owned();
    let w_user = user.clone();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let base_url = &w_base_url;
        let user = w_user;
        let now = time::now_db();
        let had = store::delete(tx, &user.id)?;
        let actor = Actor::system_at("command line");
        let (ended, revoked) = super::sessions::sign_out_everywhere(tx, keys, &actor, &user)?;
        let mut entry = actor.entry(Action::MfaReset, "user", Some(&user.id));
        entry.company_id = user.company_id.clone();
        entry.details = json!({
            "email": user.email, "had_factor": had, "sessions_ended": ended, "tokens_revoked": revoked
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        let mut to = users::owner_emails(tx)?;
        if !to.iter().any(|e| e.eq_ignore_ascii_case(&user.email)) {
            to.push(user.email.clone());
        }
        for addr in to {
            let mail = MfaNotice {
                name: "equipe".to_string(),
                headline: format!(
                    "A verificação em duas etapas de {} ({}) foi removida pela linha de comando do servidor.",
                    user.name, user.email
                ),
                detail: "Todas as sessões e chaves de API dessa pessoa foram encerradas. Ela entra de novo só com a senha e, se o papel dela exigir, precisará ativar a verificação outra vez.".to_string(),
                advice: "Se ninguém da equipe pediu isso, alguém tem acesso ao servidor: verifique agora.".to_string(),
                link: format!("{base_url}/admin/audit"),
            }
            .to_outgoing(&addr, "Verificação em duas etapas removida".to_string())?;
            email::queue(tx, &keys.ring, &mail, &now)?;
        }
        Ok(())
    })?;
    keys.hot.forget_user(&user.id);
    Ok(user)
}

/// Master key rotation: every sealed secret, re-sealed by `reseal`.
pub fn reseal_all(
    tx: &Connection,
    reseal: &dyn Fn(&str, &str) -> Result<String, AppError>,
) -> Result<usize, AppError> {
    let mut n = 0;
    for (user_id, sealed) in store::all_sealed(tx)? {
        store::reseal(tx, &user_id, &reseal(&aad(&user_id), &sealed)?)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalized_and_recovery_codes_are_distinct() {
        assert_eq!(normalize(" 123 456 "), "123456");
        assert_eq!(normalize("abcde-fghij"), "ABCDEFGHIJ");
        let (shown, hashes) = new_codes("usr_1");
        assert_eq!(shown.len(), RECOVERY_CODES);
        assert_eq!(
            hashes
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            RECOVERY_CODES
        );
        assert_eq!(hashes[0], recovery_hash("usr_1", &normalize(&shown[0])));
        assert_ne!(hashes[0], recovery_hash("usr_2", &normalize(&shown[0])));
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_secret() {
        let t = totp(vec![7; 20], "a@b.com").unwrap();
        let e = enrolment(&t).unwrap();
        assert!(
            e.otpauth_uri.starts_with("otpauth://totp/"),
            "{}",
            e.otpauth_uri
        );
        assert!(e.otpauth_uri.contains(&e.secret));
        assert!(e.otpauth_uri.contains("issuer=Omie"));
    }
}

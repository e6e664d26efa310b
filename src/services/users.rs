//! People: sign-up, approval, refusal, enabling and disabling, roles, lists.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::company_requests::Request;
pub use crate::db::users::{ListFilter, User};

use crate::db::Conn;
use crate::db::Tx;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::json;

use super::app::App;
use super::throttle::Throttle;
use super::{Actor, Keys, auth};
use crate::crypto::new_id;
use crate::db::company_requests as requests;
use crate::db::users::{self as store, NewUser};
use crate::db::{self, audit, companies, sessions, tokens};
use crate::domain::{Cnpj, CompanyStatus, Email, Password, Role, UserStatus, required_text};
use crate::email::{self, SignupAgain, SignupDecided, SignupForOwner, SignupReceived};
use crate::error::{AppError, FieldError};
use crate::services::companies::CompanyInput;
use crate::time;

pub struct SignupInput<'a> {
    pub cnpj: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub password_confirm: Option<&'a str>,
}

/// What a sign-up produced; the visitor is told the same in every case.
#[derive(Debug, PartialEq, Eq)]
pub enum SignupOutcome {
    PendingUser,
    CompanyRequest,
    /// The e-mail already has an account or a request: that address is told, nobody else.
    AlreadyKnown,
}

fn validate_signup(i: &SignupInput<'_>) -> Result<(Cnpj, String, Email, Password), AppError> {
    let mut errors = Vec::new();
    let cnpj = Cnpj::parse(i.cnpj)
        .map_err(|m| errors.push(FieldError::new("cnpj", m)))
        .ok();
    let name = required_text(i.name, 120, "Informe seu nome.")
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let email = Email::parse(i.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = Password::parse(i.password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    if let Some(c) = i.password_confirm
        && password.is_some()
        && c != i.password
    {
        errors.push(FieldError::new(
            "password_confirm",
            "As duas senhas não são iguais.",
        ));
    }
    match (cnpj, name, email, password) {
        (Some(c), Some(n), Some(e), Some(p)) if errors.is_empty() => Ok((c, n, e, p)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// A visitor asks for access. For a registered company this makes a pending user; for
/// an unknown CNPJ, a request the owner may accept. Owners and the person are e-mailed.
pub fn signup(
    pool: &crate::db::Pool,
    keys: &Keys,
    throttle: &Throttle,
    ip: &str,
    input: &SignupInput<'_>,
    settings: &crate::config::Settings,
) -> Result<SignupOutcome, AppError> {
    let (bcrypt_cost, base_url) = (settings.bcrypt_cost, settings.base_url.clone());
    let (cnpj, name, email, password) = validate_signup(input)?;
    // Each sign-up costs a bcrypt hash and sends mail: a burst from one address waits,
    // and a burst for one e-mail stops mailing it (silently, so nothing is revealed).
    let ip_key = format!("signup-ip:{ip}");
    if let Some(wait) = throttle.wait(&ip_key) {
        return Err(AppError::Throttled {
            retry_after_secs: wait,
        });
    }
    throttle.fail(&ip_key);
    let email_key = format!("signup:{}", email.as_str());
    let flooded = throttle.wait(&email_key).is_some();
    throttle.fail(&email_key);
    if flooded {
        return Ok(SignupOutcome::AlreadyKnown);
    }
    // No connection is held during bcrypt.
    let hash = auth::hash_password(&password, bcrypt_cost)?;
    let actor = Actor::system_at(ip);
    let w_keys = keys.to_owned();
    let w_ip = ip.to_owned();
    let w_settings = settings.clone();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let ip = &w_ip;
        let settings = &w_settings;
        let base_url = base_url.as_str();
        let now = time::now_db();
        if store::by_email(tx, email.as_str())?.is_some()
            || requests::pending_with_email(tx, email.as_str())?
        {
            let m = SignupAgain {
                login_link: format!("{base_url}/login"),
            }
            .to_outgoing(
                email.as_str(),
                format!("Pedido de cadastro no {}", crate::services::vendor::panel()),
            )?;
            email::queue(tx, &keys.ring, &m, &now)?;
            // The typed address only: the visitor learns nothing, the trail keeps it.
            let mut entry = actor.entry(Action::UserSignupRepeat, "user", None);
            entry.actor_label = email.as_str().to_string();
            entry.details = json!({ "email": email.as_str() });
            audit::append(tx, &keys.audit, &now, &entry)?;
            return Ok(SignupOutcome::AlreadyKnown);
        }
        let company = companies::id_by_cnpj(tx, cnpj.as_str())?
            .map(|id| companies::get(tx, &id))
            .transpose()?
            .flatten();
        let (outcome, entity_link, company_label) = match &company {
            Some(c) => {
                let id = new_id("usr");
                store::insert(
                    tx,
                    &NewUser {
                        id: &id,
                        company_id: Some(&c.id),
                        name: &name,
                        email: email.as_str(),
                        role: Role::CompanyUser,
                        status: UserStatus::Pending,
                        password_hash: Some(&hash),
                    },
                    &now,
                )?;
                // The notice the form linked: which version this person accepted.
                super::privacy::record_acceptance(
                    tx,
                    settings,
                    Some(&id),
                    None,
                    "signup",
                    ip,
                    &now,
                )?;
                let mut entry = actor.entry(Action::UserSignup, "user", Some(&id));
                entry.actor_label = email.as_str().to_string();
                entry.company_id = Some(c.id.clone());
                entry.details =
                    json!({ "name": name, "email": email.as_str(), "cnpj": cnpj.as_str() });
                audit::append(tx, &keys.audit, &now, &entry)?;
                (
                    SignupOutcome::PendingUser,
                    format!("{base_url}/admin/users?status=pending"),
                    c.legal_name.clone(),
                )
            }
            None => {
                let id = new_id("req");
                requests::insert(
                    tx,
                    &Request {
                        id: id.clone(),
                        cnpj: cnpj.as_str().to_string(),
                        requester_name: name.clone(),
                        requester_email: email.as_str().to_string(),
                        password_hash: hash.clone(),
                        status: crate::domain::RequestStatus::Pending,
                        reason: String::new(),
                        created_at: now.clone(),
                    },
                )?;
                super::privacy::record_acceptance(
                    tx,
                    settings,
                    None,
                    Some(&id),
                    "signup",
                    ip,
                    &now,
                )?;
                let mut entry =
                    actor.entry(Action::CompanyRequestCreate, "company_request", Some(&id));
                entry.actor_label = email.as_str().to_string();
                entry.details =
                    json!({ "name": name, "email": email.as_str(), "cnpj": cnpj.as_str() });
                audit::append(tx, &keys.audit, &now, &entry)?;
                (
                    SignupOutcome::CompanyRequest,
                    format!("{base_url}/admin/users?status=pending"),
                    "ainda não cadastrada".to_string(),
                )
            }
        };
        let to_person = SignupReceived {
            name: name.clone(),
            cnpj: cnpj.formatted(),
            new_company: outcome == SignupOutcome::CompanyRequest,
        }
        .to_outgoing(email.as_str(), "Recebemos seu pedido de acesso".into())?;
        email::queue(tx, &keys.ring, &to_person, &now)?;
        for owner in store::owner_emails(tx)? {
            let m = SignupForOwner {
                name: name.clone(),
                email: email.as_str().to_string(),
                cnpj: cnpj.formatted(),
                company: company_label.clone(),
                link: entity_link.clone(),
            }
            .to_outgoing(&owner, format!("Novo pedido de acesso: {name}"))?;
            email::queue(tx, &keys.ring, &m, &now)?;
        }
        Ok(outcome)
    })
}

/// Loads a user the actor may manage: platform users manage everyone; a company admin
/// manages its own company's users. Anything else is "not found".
fn manageable(conn: &Connection, actor: &Actor, id: &str) -> Result<User, AppError> {
    let u = store::get(conn, id)?.ok_or(AppError::NotFound)?;
    if u.status == UserStatus::Anonymized {
        return Err(AppError::NotFound);
    }
    let allowed = actor.is_platform()
        || (actor.role() == Some(Role::CompanyAdmin)
            && u.company_id.as_deref() == actor.company_id());
    if !allowed {
        return Err(AppError::NotFound);
    }
    // Platform accounts are the owner's to manage (DESIGN.md §5): staff may see them but
    // not change them.
    let target_platform = Some(u.role).is_some_and(Role::is_platform);
    let is_self = actor.is_user(&u.id);
    if target_platform && !is_self && actor.role() != Some(Role::Owner) {
        return Err(AppError::Forbidden);
    }
    Ok(u)
}

/// Reads a person: oneself, anyone for platform users, and a company admin's people.
pub fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<User, AppError> {
    let u = store::get(conn, id)?.ok_or(AppError::NotFound)?;
    let is_self = actor.is_user(&u.id);
    if is_self || (actor.is_platform() && u.status != UserStatus::Anonymized) {
        return Ok(u);
    }
    manageable(conn, actor, id)
}

/// A person the actor may change: themselves, or someone they manage.
pub fn changeable(conn: &Connection, actor: &Actor, id: &str) -> Result<User, AppError> {
    let u = store::get(conn, id)?.ok_or(AppError::NotFound)?;
    let is_self = actor.is_user(&u.id);
    if is_self {
        return Ok(u);
    }
    manageable(conn, actor, id)
}

fn decided_mail(
    u: &User,
    approved: bool,
    reason: &str,
    base_url: &str,
) -> Result<email::Outgoing, AppError> {
    SignupDecided {
        name: u.name.clone(),
        approved,
        reason: reason.to_string(),
        login_link: format!("{base_url}/login"),
    }
    .to_outgoing(
        &u.email,
        if approved {
            "Seu acesso foi aprovado".into()
        } else {
            "Seu pedido de acesso foi recusado".into()
        },
    )
}

/// Approves a pending user, optionally with a company role. A refused sign-up is
/// approved only when `after_refusal` says the caller confirmed it deliberately (the
/// page's confirmation, or the API's explicit approve); either way the person is told.
pub fn approve(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    role: Option<Role>,
    base_url: &str,
    after_refusal: bool,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let base_url = &w_base_url;
        let u = manageable(tx, actor, id)?;
        let refused = u.status == UserStatus::Disabled && u.rejected_at.is_some();
        if refused && !after_refusal {
            return Err(AppError::field(
                "confirm",
                "Este cadastro foi recusado. Para aprová-lo mesmo assim, marque a confirmação.",
            ));
        }
        if u.status != UserStatus::Pending && !refused {
            return Err(not_pending());
        }
        let now = time::now_db();
        if let Some(r) = role {
            if r.is_platform() != u.company_id.is_none() {
                return Err(AppError::field("role", "Papel inválido para este usuário."));
            }
            store::set_role(tx, id, r.as_str(), &now)?;
        }
        store::set_status(tx, id, UserStatus::Active.as_str(), None, "", &now)?;
        let mut entry = actor.entry(Action::UserApprove, "user", Some(id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({
            "email": u.email,
            "role": role.unwrap_or(u.role).as_str(),
            "after_refusal": refused,
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        email::queue(tx, &keys.ring, &decided_mail(&u, true, "", base_url)?, &now)?;
        store::get(tx, id)?.ok_or(AppError::NotFound)
    })
    .inspect(|_| keys.hot.forget_user(id))
}

/// Approving or refusing someone who is no longer waiting conflicts with their state
/// (409), whatever the request said.
fn not_pending() -> AppError {
    AppError::Conflict(vec![crate::error::FieldError::new(
        "status",
        "Este cadastro não está aguardando aprovação.",
    )])
}

/// Refuses a pending user; the optional reason is e-mailed to them.
pub fn reject(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    reason: &str,
    base_url: &str,
) -> Result<User, AppError> {
    let reason: String = reason.trim().chars().take(500).collect();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_reason = reason.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let reason = &w_reason;
        let base_url = &w_base_url;
        let u = manageable(tx, actor, id)?;
        if u.status != UserStatus::Pending {
            return Err(not_pending());
        }
        let now = time::now_db();
        store::set_status(
            tx,
            id,
            UserStatus::Disabled.as_str(),
            Some(&now),
            reason,
            &now,
        )?;
        let mut entry = actor.entry(Action::UserReject, "user", Some(id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({ "email": u.email, "reason": reason });
        audit::append(tx, &keys.audit, &now, &entry)?;
        email::queue(
            tx,
            &keys.ring,
            &decided_mail(&u, false, reason, base_url)?,
            &now,
        )?;
        store::get(tx, id)?.ok_or(AppError::NotFound)
    })
    .inspect(|_| keys.hot.forget_user(id))
}

/// Ends every session and token of a user (after disabling, or a password change).
pub fn end_all_access(
    tx: &Connection,
    user_id: &str,
    keep_session: Option<&str>,
    now: &str,
) -> Result<(), AppError> {
    sessions::delete_for_user(tx, user_id, keep_session)?;
    tokens::revoke_for_user(tx, user_id, now)?;
    Ok(())
}

/// Disables or re-enables an account. Disabling ends its sessions and tokens at once.
pub fn set_enabled(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        set_enabled_in(tx, &w_keys, &w_actor, &w_id, enabled)
    })
    .inspect(|_| keys.hot.forget_user(id))
}

/// [`set_enabled`] inside the caller's transaction.
pub fn set_enabled_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> Result<User, AppError> {
    let u = manageable(tx, actor, id)?;
    let is_self = actor.is_user(&u.id);
    if is_self && !enabled {
        // A state of the request's author, not a wrong value: 409, like the other
        // conflicts with who is asking.
        return Err(AppError::Conflict(vec![crate::error::FieldError::new(
            "status",
            "Você não pode desativar a sua própria conta.",
        )]));
    }
    if u.role == Role::Owner && actor.role() != Some(Role::Owner) {
        return Err(AppError::Forbidden);
    }
    let target = if enabled {
        UserStatus::Active
    } else {
        UserStatus::Disabled
    };
    if u.status == target && u.rejected_at.is_none() {
        return Ok(u);
    }
    if u.status == UserStatus::Pending {
        return Err(AppError::field(
            "status",
            "Aprove ou recuse este cadastro primeiro.",
        ));
    }
    // A refused sign-up is not "reactivated" in one click: letting the refused person in
    // is an approval, confirmed deliberately, and the person is told ([`approve`]).
    if enabled && u.rejected_at.is_some() {
        return Err(AppError::field(
            "status",
            "Este cadastro foi recusado. Para deixar a pessoa entrar, use \"Aprovar mesmo assim\", \
             que pede confirmação e avisa a pessoa por e-mail.",
        ));
    }
    let now = time::now_db();
    store::set_status(tx, id, target.as_str(), None, "", &now)?;
    if !enabled {
        end_all_access(tx, id, None, &now)?;
    }
    let mut entry = actor.entry(
        if enabled {
            Action::UserEnable
        } else {
            Action::UserDisable
        },
        "user",
        Some(id),
    );
    entry.company_id = u.company_id.clone();
    entry.details = json!({ "email": u.email });
    audit::append(tx, &keys.audit, &now, &entry)?;
    if !enabled {
        // Invitations die with their sender's right to invite.
        super::mailed_links::revoke_fallen(tx, keys, actor, Some(id), None, &now)?;
    }
    store::get(tx, id)?.ok_or(AppError::NotFound)
}

/// Changes a role within its kind: company users between admin and user (by the owner,
/// staff, or their company admin); platform users between owner and staff (owner only,
/// and never the last owner).
pub fn change_role(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    role: Role,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        change_role_in(tx, &w_keys, &w_actor, &w_id, role)
    })
    .inspect(|_| keys.hot.forget_user(id))
}

/// [`change_role`] inside the caller's transaction.
pub fn change_role_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    role: Role,
) -> Result<User, AppError> {
    let u = manageable(tx, actor, id)?;
    let current = Some(u.role).ok_or(AppError::NotFound)?;
    if current == role {
        return Ok(u);
    }
    if current.is_platform() != role.is_platform() {
        return Err(AppError::field(
            "role",
            "Um usuário de empresa não pode virar usuário da plataforma, nem o contrário.",
        ));
    }
    if role.is_platform() {
        if actor.role() != Some(Role::Owner) {
            return Err(AppError::Forbidden);
        }
        if current == Role::Owner && store::active_owner_count(tx)? <= 1 {
            return Err(AppError::field(
                "role",
                "É preciso haver ao menos um proprietário ativo.",
            ));
        }
    }
    let now = time::now_db();
    store::set_role(tx, id, role.as_str(), &now)?;
    let mut entry = actor.entry(Action::UserRoleChange, "user", Some(id));
    entry.company_id = u.company_id.clone();
    entry.details =
        json!({ "email": u.email, "role": { "from": current.as_str(), "to": role.as_str() } });
    audit::append(tx, &keys.audit, &now, &entry)?;
    // Invitations the new role could not have sent die with the old one.
    super::mailed_links::revoke_fallen(tx, keys, actor, Some(id), None, &now)?;
    store::get(tx, id)?.ok_or(AppError::NotFound)
}

/// Lists users the actor may see: all for platform users; a company admin, its own
/// company's; a company user, only itself.
pub fn list(
    conn: &Connection,
    actor: &Actor,
    mut filter: ListFilter,
    limit: usize,
) -> Result<store::Page, AppError> {
    if !actor.is_platform() {
        if actor.role() != Some(Role::CompanyAdmin) {
            return Err(AppError::NotFound);
        }
        filter.company_id = actor.company_id().map(str::to_string);
    }
    Ok(store::list(conn, &filter, limit)?)
}

/// The navigation's badge: sign-ups waiting for this person's decision (all of them
/// for the platform, the company's own for its admin, none for anyone else).
pub fn pending_for(conn: &Connection, p: &super::auth::Principal) -> Result<i64, AppError> {
    Ok(match (p.role, p.user.company_id.as_deref()) {
        (r, _) if r.is_platform() => {
            let (users, requests) = pending_counts(conn)?;
            users + requests
        }
        (Role::CompanyAdmin, Some(c)) => store::pending_count_in_company(conn, c)?,
        _ => 0,
    })
}

/// (pending users, pending company requests), for the dashboard badge.
pub fn pending_counts(conn: &Connection) -> Result<(i64, i64), AppError> {
    Ok((store::pending_count(conn)?, requests::pending_count(conn)?))
}

pub fn pending_requests(conn: &Connection, actor: &Actor) -> Result<Vec<Request>, AppError> {
    actor.platform_only()?;
    Ok(requests::pending(conn)?)
}

/// Accepts a request for an unknown CNPJ: creates the company (with the legal name the
/// owner typed) and the person as its active company admin.
pub fn accept_request(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    legal_name: &str,
    base_url: &str,
) -> Result<String, AppError> {
    actor.platform_only()?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_legal_name = legal_name.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let legal_name = &w_legal_name;
        let base_url = &w_base_url;
        let now = time::now_db();
        let actor_id = actor.user_id().unwrap_or_default().to_string();
        let req = requests::get(tx, id)?
            .filter(|r| r.status == crate::domain::RequestStatus::Pending)
            .ok_or(AppError::NotFound)?;
        // One transaction: the company, the person and the decision stand or fall together.
        let company = super::companies::create_in(
            tx,
            keys,
            actor,
            &CompanyInput {
                legal_name: Some(legal_name.to_string()),
                cnpj: Some(req.cnpj.clone()),
                contact_name: Some(req.requester_name.clone()),
                email: Some(req.requester_email.clone()),
                ..Default::default()
            },
        )?;
        if requests::decide(
            tx,
            id,
            crate::domain::RequestStatus::Accepted,
            "",
            &actor_id,
            &now,
        )? != 1
        {
            return Err(AppError::NotFound);
        }
        if store::by_email(tx, &req.requester_email)?.is_some() {
            return Err(AppError::Conflict(vec![FieldError::new(
                "email",
                "Já existe uma conta com este e-mail.",
            )]));
        }
        let uid = new_id("usr");
        store::insert(
            tx,
            &NewUser {
                id: &uid,
                company_id: Some(&company.id),
                name: &req.requester_name,
                email: &req.requester_email,
                role: Role::CompanyAdmin,
                status: UserStatus::Active,
                password_hash: Some(&req.password_hash),
            },
            &now,
        )?;
        // The notice accepted at sign-up now belongs to the account.
        crate::db::privacy::acceptances_follow_request(tx, id, &uid)?;
        let mut entry = actor.entry(Action::CompanyRequestAccept, "company_request", Some(id));
        entry.company_id = Some(company.id.clone());
        entry.details = json!({ "cnpj": req.cnpj, "user_id": uid, "email": req.requester_email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        let u = store::get(tx, &uid)?.ok_or(AppError::NotFound)?;
        email::queue(tx, &keys.ring, &decided_mail(&u, true, "", base_url)?, &now)?;
        Ok(company.id.clone())
    })
}

pub fn refuse_request(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    reason: &str,
    base_url: &str,
) -> Result<(), AppError> {
    actor.platform_only()?;
    let reason: String = reason.trim().chars().take(500).collect();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_reason = reason.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let reason = &w_reason;
        let base_url = &w_base_url;
        let req = requests::get(tx, id)?
            .filter(|r| r.status == crate::domain::RequestStatus::Pending)
            .ok_or(AppError::NotFound)?;
        let now = time::now_db();
        let actor_id = actor.user_id().unwrap_or_default().to_string();
        requests::decide(
            tx,
            id,
            crate::domain::RequestStatus::Refused,
            reason,
            &actor_id,
            &now,
        )?;
        let mut entry = actor.entry(Action::CompanyRequestRefuse, "company_request", Some(id));
        entry.details = json!({ "cnpj": req.cnpj, "email": req.requester_email, "reason": reason });
        audit::append(tx, &keys.audit, &now, &entry)?;
        let m = SignupDecided {
            name: req.requester_name.clone(),
            approved: false,
            reason: reason.clone(),
            login_link: format!("{base_url}/login"),
        }
        .to_outgoing(
            &req.requester_email,
            "Seu pedido de acesso foi recusado".into(),
        )?;
        email::queue(tx, &keys.ring, &m, &now)?;
        Ok(())
    })
}

/// Company status is checked at sign-in too: people of a suspended or archived company
/// cannot enter.
pub fn company_allows_sign_in(conn: &Connection, u: &User) -> Result<bool, AppError> {
    match &u.company_id {
        None => Ok(true),
        Some(cid) => {
            Ok(companies::get(conn, cid)?.is_some_and(|c| c.status == CompanyStatus::Active))
        }
    }
}

/// Whether the person's company is archived (told apart from suspended at sign-in).
pub fn company_archived(conn: &Connection, u: &User) -> Result<bool, AppError> {
    match &u.company_id {
        None => Ok(false),
        Some(cid) => {
            Ok(companies::get(conn, cid)?.is_some_and(|c| c.status == CompanyStatus::Archived))
        }
    }
}

/// A person added to a company: an account, or an invitation waiting to be accepted.
pub enum Added {
    User(User),
    Invitation(crate::db::invitations::Invitation),
}

/// Who is added to a company, as typed.
pub struct NewMember<'a> {
    pub company_id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub role: Role,
    /// With a password, an active account; without one, an invitation by e-mail.
    pub password: Option<&'a str>,
}

/// Adds a person to a company (the API's `POST /companies/{id}/users`).
pub fn add_to_company(app: &App, actor: &Actor, m: &NewMember<'_>) -> Result<Added, AppError> {
    // An address becomes an account only after its owner proves the mailbox: a company
    // admin invites, and the person chooses the password. (The owner and staff, who see
    // every account anyway, may still create one with a password.)
    if m.password.is_some() && !actor.is_platform() {
        let own_admin =
            actor.role() == Some(Role::CompanyAdmin) && actor.company_id() == Some(m.company_id);
        if !own_admin {
            return Err(AppError::NotFound);
        }
        return Err(AppError::field(
            "password",
            "Company admins add people by invitation: omit password, and the person chooses one on the e-mailed link.",
        ));
    }
    match m.password {
        Some(pw) => create_with_password(app, actor, m.company_id, m.name, m.email, m.role, pw)
            .map(Added::User),
        None => super::mailed_links::invite(
            &mut app.pool.get()?,
            &app.keys,
            actor,
            m.email,
            m.role,
            Some(m.company_id),
            &app.settings.base_url,
        )
        .map(Added::Invitation),
    }
}

/// What a change of a person may touch; `None` leaves it as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
}

/// Applies a change in one transaction: all of it, or none of it.
pub fn patch(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    p: &UserPatch,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_p = p.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let p = &w_p;
        let mut u = get(tx, actor, id)?;
        if let Some(n) = &p.name {
            u = rename_in(tx, keys, actor, id, n)?;
        }
        if let Some(r) = p.role {
            u = change_role_in(tx, keys, actor, id, r)?;
        }
        if let Some(e) = p.enabled {
            u = set_enabled_in(tx, keys, actor, id, e)?;
        }
        Ok(u)
    })
    .inspect(|_| keys.hot.forget_user(id))
}

/// Creates an active company user with a password chosen by an admin.
#[allow(clippy::too_many_arguments)]
fn create_with_password(
    app: &App,
    actor: &Actor,
    company_id: &str,
    name: &str,
    email: &str,
    role: Role,
    password: &str,
) -> Result<User, AppError> {
    if role.is_platform() {
        return Err(AppError::field(
            "role",
            "Use company_admin or company_user.",
        ));
    }
    let allowed = actor.is_platform()
        || (actor.role() == Some(Role::CompanyAdmin) && actor.company_id() == Some(company_id));
    if !allowed {
        return Err(AppError::NotFound);
    }
    let mut errors = Vec::new();
    let name = required_text(name, 120, "Informe o nome.")
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let email = Email::parse(email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = Password::parse(password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    let (Some(name), Some(email), Some(password)) = (name, email, password) else {
        return Err(AppError::Validation(errors));
    };
    // No connection is held during bcrypt.
    let hash = auth::hash_password(&password, app.settings.bcrypt_cost)?;
    let keys = app.keys.clone();
    let w_actor = actor.to_owned();
    let w_company_id = company_id.to_owned();
    let w_name = name.to_owned();
    let w_email = email.to_owned();
    db::write(app.pool.writer(), move |tx| {
        let keys = &keys;
        let actor = &w_actor;
        let company_id = &w_company_id;
        let name = &w_name;
        let email = &w_email;
        companies::get(tx, company_id)?
            .filter(|c| c.status != crate::domain::CompanyStatus::Archived)
            .ok_or(AppError::NotFound)?;
        if store::by_email(tx, email.as_str())?.is_some() {
            return Err(AppError::Conflict(vec![FieldError::new(
                "email",
                "Já existe uma conta com este e-mail.",
            )]));
        }
        let now = time::now_db();
        let id = new_id("usr");
        store::insert(
            tx,
            &NewUser {
                id: &id,
                company_id: Some(company_id),
                name,
                email: email.as_str(),
                role,
                status: UserStatus::Active,
                password_hash: Some(&hash),
            },
            &now,
        )?;
        let mut entry = actor.entry(Action::UserCreate, "user", Some(&id));
        entry.company_id = Some(company_id.to_string());
        entry.details = json!({ "email": email.as_str(), "name": name, "role": role.as_str() });
        audit::append(tx, &keys.audit, &now, &entry)?;
        store::get(tx, &id)?.ok_or(AppError::NotFound)
    })
}

/// Renames a person (their admin, or themselves).
pub fn rename(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    name: &str,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_name = name.to_owned();
    db::write(conn, move |tx| {
        rename_in(tx, &w_keys, &w_actor, &w_id, &w_name)
    })
}

/// [`rename`] inside the caller's transaction.
pub fn rename_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    name: &str,
) -> Result<User, AppError> {
    let name =
        required_text(name, 120, "Informe o nome.").map_err(|m| AppError::field("name", m))?;
    let u = changeable(tx, actor, id)?;
    if u.name == name {
        return Ok(u);
    }
    let now = time::now_db();
    store::set_name(tx, id, &name, &now)?;
    let mut entry = actor.entry(Action::UserUpdate, "user", Some(id));
    entry.company_id = u.company_id.clone();
    entry.details = json!({ "changed": { "name": { "from": u.name, "to": name } } });
    audit::append(tx, &keys.audit, &now, &entry)?;
    store::get(tx, id)?.ok_or(AppError::NotFound)
}

/// Lists a company's people for the API: platform users and that company's admin.
pub fn list_company(
    conn: &Connection,
    actor: &Actor,
    company_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<super::Page<User>, AppError> {
    let after = super::parse_cursor(cursor)?;
    let c = companies::get(conn, company_id)?.ok_or(AppError::NotFound)?;
    if !actor.is_platform() {
        if actor.company_id() != Some(c.id.as_str()) {
            return Err(AppError::NotFound);
        }
        if actor.role() != Some(Role::CompanyAdmin) {
            return Err(AppError::Forbidden);
        }
    }
    let filter = ListFilter {
        company_id: Some(c.id),
        after,
        ..Default::default()
    };
    let (rows, more) = store::list(conn, &filter, limit)?;
    let rows = rows.into_iter().map(|(u, _)| u).collect();
    Ok(super::Page::new(rows, more, store::cursor_after))
}

/// What the dashboard's people page asks for, as typed; unknown values filter nothing.
#[derive(Debug, Default)]
pub struct DirectoryQuery {
    pub q: String,
    pub company_id: String,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Only refused sign-ups (disabled with a refusal), the page's "Recusado" filter.
    pub refused: bool,
    pub cursor: String,
    pub limit: usize,
}

/// The dashboard's people page: the sign-ups waiting for a decision (pending people and
/// requests for unknown CNPJs), a page of the other people (with their company's name),
/// and the open staff invitations.
pub struct Directory {
    pub pending: Vec<(User, Option<String>)>,
    pub people: super::Page<(User, Option<String>)>,
    pub requests: Vec<Request>,
    pub invitations: Vec<crate::db::invitations::Invitation>,
}

pub fn directory(
    conn: &Connection,
    actor: &Actor,
    q: &DirectoryQuery,
) -> Result<Directory, AppError> {
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = ListFilter {
        q: non_empty(&q.q),
        company_id: non_empty(&q.company_id),
        role: q.role.map(|r| r.as_str().to_string()),
        status: if q.refused {
            Some(store::REFUSED.to_string())
        } else {
            q.status.map(|s| s.as_str().to_string())
        },
        // A cursor that does not decode starts again from the first page.
        after: crate::db::keyset::decode(&q.cursor),
        // Without a status filter, sign-ups waiting for a decision are listed apart.
        without_pending: q.status.is_none() && !q.refused,
    };
    let (rows, more) = list(conn, actor, filter, q.limit)?;
    let waiting = ListFilter {
        status: Some(UserStatus::Pending.as_str().to_string()),
        ..Default::default()
    };
    let (pending, _) = list(conn, actor, waiting, 200)?;
    Ok(Directory {
        pending,
        people: super::Page::new(rows, more, |(u, _)| store::cursor_after(u)),
        requests: pending_requests(conn, actor)?,
        invitations: super::mailed_links::list_open(conn, actor, None)?,
    })
}

/// Everything a person's page shows: the person, their company, whether they use a
/// second factor, the invitations they sent that are still open, and the recent history
/// about them (done to their account or by them).
pub struct Person {
    pub user: User,
    pub company: Option<crate::db::companies::Company>,
    pub mfa_on: bool,
    pub invitations_sent: Vec<crate::db::invitations::Invitation>,
    pub history: Vec<crate::db::audit::Entry>,
}

/// A person's page: platform users read anyone (not anonymized); a company admin reads
/// only their own company's people. Anyone else, or any other person, is "not found".
pub fn person(conn: &Connection, actor: &Actor, id: &str) -> Result<Person, AppError> {
    if !actor.is_platform() && actor.role() != Some(Role::CompanyAdmin) {
        return Err(AppError::NotFound);
    }
    let user = get(conn, actor, id)?;
    if user.status == UserStatus::Anonymized {
        return Err(AppError::NotFound);
    }
    let company = match &user.company_id {
        Some(c) => companies::get(conn, c)?,
        None => None,
    };
    let filter = crate::db::audit::Filter {
        subject: Some(user.id.clone()),
        ..Default::default()
    };
    let (history, _) = super::audit::list(conn, actor, filter, 20)?;
    Ok(Person {
        mfa_on: crate::db::mfa::enabled(conn, &user.id)?,
        invitations_sent: crate::db::invitations::open_sent_by(conn, &user.id)?,
        company,
        history,
        user,
    })
}

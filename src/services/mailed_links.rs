//! Single-use links sent by e-mail: password resets (1 hour) and invitations (72 hours).

/// The rows this use case answers with, for the interfaces.
pub use crate::db::invitations::Invitation;

use crate::db::Conn;
use crate::db::Tx;
use crate::domain::Action;
use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

use super::throttle::Throttle;
use super::{Actor, ActorKind, Keys, auth, users::end_all_access};
use crate::crypto::{new_id, new_token, sha256_hex};
use crate::db::invitations;
use crate::db::users::{self as user_store, NewUser, User};
use crate::db::{self, audit, companies, password_resets};
use crate::domain::{Email, Password, Role, UserStatus, required_text};
use crate::email::{self, InvitationMessage, PasswordChangedMessage, PasswordResetMessage};
use crate::error::{AppError, FieldError};
use crate::time;

pub const RESET_TTL_HOURS: i64 = 1;
pub const INVITE_TTL_HOURS: i64 = 72;

fn hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A new password as typed twice.
#[derive(Clone, Copy)]
pub struct NewPassword<'a> {
    pub password: &'a str,
    pub confirm: &'a str,
}

fn new_password(np: NewPassword<'_>, cost: u32) -> Result<String, AppError> {
    let p = Password::parse(np.password).map_err(|m| AppError::field("password", m))?;
    if np.confirm != np.password {
        return Err(AppError::field(
            "password_confirm",
            "As duas senhas não são iguais.",
        ));
    }
    auth::hash_password(&p, cost)
}

fn queue_reset(
    tx: &Connection,
    keys: &Keys,
    u: &User,
    base_url: &str,
    now: &str,
) -> Result<(), AppError> {
    let token = new_token();
    let expires = time::to_db(time::now() + Duration::hours(RESET_TTL_HOURS));
    password_resets::insert(tx, &hash(&token), &u.id, now, &expires)?;
    let m = PasswordResetMessage {
        name: u.name.clone(),
        link: format!("{base_url}/password/reset/{token}"),
    }
    .to_outgoing(
        &u.email,
        format!("Troca de senha no {}", crate::services::vendor::panel()),
    )?;
    email::queue(tx, &keys.ring, &m, now)?;
    Ok(())
}

/// Tells the person their password changed (by themselves, or through a reset link),
/// from where, and what to do if it was not them; in the caller's transaction.
fn queue_password_changed(
    tx: &Connection,
    keys: &Keys,
    u: &User,
    ip: &str,
    by_link: bool,
    base_url: &str,
    now: &str,
) -> Result<(), AppError> {
    let m = PasswordChangedMessage {
        name: u.name.clone(),
        when: time::db_to_br(now),
        ip: ip.to_string(),
        by_link,
        link: format!("{base_url}/password/forgot"),
    }
    .to_outgoing(
        &u.email,
        format!(
            "Sua senha do {} foi trocada",
            crate::services::vendor::panel()
        ),
    )?;
    email::queue(tx, &keys.ring, &m, now)?;
    Ok(())
}

/// "Esqueci minha senha", the part the visitor waits for. It does the same for every
/// address, known or not: it checks the address's shape and counts the request against
/// that address's budget (a burst for one address stops sending, so nobody can flood a
/// mailbox), and nothing else. `Some` is the address to hand to
/// [`send_requested_reset`] *after* answering, so neither the answer nor its timing says
/// whether the address has an account.
pub fn accept_reset_request(
    throttle: &Throttle,
    email_raw: &str,
) -> Result<Option<Email>, AppError> {
    let Ok(email) = Email::parse(email_raw) else {
        return Err(AppError::field("email", "Informe um e-mail válido."));
    };
    let key = format!("reset:{}", email.as_str());
    if throttle.wait(&key).is_some() {
        return Ok(None);
    }
    throttle.fail(&key);
    Ok(Some(email))
}

/// "Esqueci minha senha", the part nobody waits for: for a known, active address, a
/// single-use link, its mail in the outbox and the audit row, in one transaction; for any
/// other address, nothing.
pub fn send_requested_reset(
    conn: &mut Conn,
    keys: &Keys,
    ip: &str,
    email: &Email,
    base_url: &str,
) -> Result<(), AppError> {
    let w_keys = keys.to_owned();
    let w_ip = ip.to_owned();
    let w_email = email.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let ip = &w_ip;
        let email = &w_email;
        let base_url = &w_base_url;
        let Some(u) = user_store::by_email(tx, email.as_str())? else {
            return Ok(());
        };
        if u.status != UserStatus::Active {
            return Ok(());
        }
        let now = time::now_db();
        queue_reset(tx, keys, &u, base_url, &now)?;
        let mut entry =
            Actor::system_at(ip).entry(Action::UserPasswordResetRequested, "user", Some(&u.id));
        entry.actor_label = u.email.clone();
        entry.company_id = u.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
}

/// The owner (or a company admin, for their people) sends someone a reset link.
pub fn send_reset(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    user_id: &str,
    base_url: &str,
) -> Result<User, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_user_id = user_id.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let user_id = &w_user_id;
        let base_url = &w_base_url;
        let u = super::users::changeable(tx, actor, user_id)?;
        if u.status != UserStatus::Active {
            return Err(AppError::field(
                "status",
                "Só contas ativas podem trocar a senha.",
            ));
        }
        let now = time::now_db();
        queue_reset(tx, keys, &u, base_url, &now)?;
        let mut entry = actor.entry(Action::UserPasswordResetSent, "user", Some(&u.id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({ "email": u.email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(u)
    })
}

/// Whether a reset link can still be used (for showing its form).
pub fn reset_link_is_usable(conn: &Connection, token: &str) -> Result<bool, AppError> {
    Ok(password_resets::live_user(conn, &hash(token), &time::now_db())?.is_some())
}

/// Sets a new password through a reset link: the link is spent, every session and
/// token of the person ends, and the person is told by e-mail.
pub fn complete_reset(
    pool: &crate::db::Pool,
    keys: &Keys,
    ip: &str,
    token: &str,
    np: NewPassword<'_>,
    cost: u32,
    base_url: &str,
) -> Result<User, AppError> {
    if !reset_link_is_usable(&*pool.get()?, token)? {
        return Err(AppError::NotFound);
    }
    // No connection is held during bcrypt.
    let hashed = new_password(np, cost)?;
    let w_keys = keys.to_owned();
    let w_ip = ip.to_owned();
    let w_token = token.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let ip = &w_ip;
        let token = &w_token;
        let base_url = &w_base_url;
        let now = time::now_db();
        let user_id =
            password_resets::live_user(tx, &hash(token), &now)?.ok_or(AppError::NotFound)?;
        if !password_resets::consume(tx, &hash(token), &now)? {
            return Err(AppError::NotFound);
        }
        user_store::set_password(tx, &user_id, &hashed, &now)?;
        end_all_access(tx, &user_id, None, &now)?;
        let u = user_store::get(tx, &user_id)?.ok_or(AppError::NotFound)?;
        queue_password_changed(tx, keys, &u, ip, true, base_url, &now)?;
        let mut entry = Actor::system_at(ip).entry(Action::UserPasswordReset, "user", Some(&u.id));
        entry.actor_label = u.email.clone();
        entry.company_id = u.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(u)
    })
    .inspect(|u| keys.hot.forget_user(&u.id))
}

/// A signed-in person changes their own password; every other session and token ends,
/// and the person is told by e-mail. `current_session` is the session to keep, by its
/// row id (the SHA-256 of its key).
#[allow(clippy::too_many_arguments)]
pub fn change_password(
    pool: &crate::db::Pool,
    keys: &Keys,
    actor: &Actor,
    current_session: Option<&str>,
    current: &str,
    np: NewPassword<'_>,
    cost: u32,
    base_url: &str,
) -> Result<(), AppError> {
    let ActorKind::User { id, .. } = &actor.kind else {
        return Err(AppError::Forbidden);
    };
    let u = user_store::get(&*pool.get()?, id)?.ok_or(AppError::NotFound)?;
    // No connection is held during either bcrypt.
    if !super::auth::password_matches(&u, current) {
        return Err(AppError::field(
            "current_password",
            "A senha atual não confere.",
        ));
    }
    let hashed = new_password(np, cost)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_base_url = base_url.to_owned();
    let current_session = current_session.map(str::to_owned);
    let forget = u.id.clone();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let base_url = &w_base_url;
        let current_session = current_session.as_deref();
        let now = time::now_db();
        user_store::set_password(tx, &u.id, &hashed, &now)?;
        end_all_access(tx, &u.id, current_session, &now)?;
        queue_password_changed(tx, keys, &u, &actor.ip, false, base_url, &now)?;
        let mut entry = actor.entry(Action::UserPasswordChange, "user", Some(&u.id));
        entry.company_id = u.company_id.clone();
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
    .inspect(|_| keys.hot.forget_user(&forget))
}

fn may_invite(actor: &Actor, role: Role, company_id: Option<&str>) -> Result<(), AppError> {
    match role {
        Role::Owner => Err(AppError::field(
            "role",
            "Proprietários não são convidados; crie pela linha de comando.",
        )),
        Role::Staff if actor.role() == Some(Role::Owner) => Ok(()),
        Role::Staff => Err(AppError::Forbidden),
        Role::CompanyAdmin | Role::CompanyUser => {
            if actor.is_platform()
                || (actor.role() == Some(Role::CompanyAdmin) && actor.company_id() == company_id)
            {
                Ok(())
            } else {
                Err(AppError::NotFound)
            }
        }
    }
}

fn inviter_label(actor: &Actor) -> String {
    match actor.user_id() {
        Some(_) => actor.label(),
        None => "O responsável pelo sistema".into(),
    }
}

/// How the invitation e-mail names who invited: a company's own admin by e-mail, the
/// platform as its team (tenants see the platform as the platform).
fn inviter_for_mail(actor: &Actor) -> String {
    if actor.is_platform() {
        super::audit::platform_team_label()
    } else {
        inviter_label(actor)
    }
}

/// The acting person behind an invitation's sender account, as they are now.
fn sender_as_actor(u: &User) -> Actor {
    Actor {
        kind: ActorKind::User {
            id: u.id.clone(),
            email: u.email.clone(),
            role: u.role,
            company_id: u.company_id.clone(),
        },
        ip: String::new(),
    }
}

/// Why an invitation no longer stands, in words for the person holding the link; `None`
/// while it does. It stands while its company is active and its sender may still send it:
/// an active account, with a role that may invite to that role and company.
pub fn invitation_refusal(
    conn: &Connection,
    inv: &Invitation,
) -> Result<Option<&'static str>, AppError> {
    if let Some(c) = &inv.company_id {
        let active = companies::get(conn, c)?
            .is_some_and(|c| c.status == crate::domain::CompanyStatus::Active);
        if !active {
            return Ok(Some(
                "Este convite não vale mais: o acesso da empresa está suspenso ou foi encerrado. Nenhuma conta foi criada.",
            ));
        }
    }
    if let Some(sender) = &inv.invited_by_user_id {
        let entitled = match user_store::get(conn, sender)? {
            Some(u) if u.status == UserStatus::Active => {
                may_invite(&sender_as_actor(&u), inv.role, inv.company_id.as_deref()).is_ok()
            }
            _ => false,
        };
        if !entitled {
            return Ok(Some(
                "Este convite não vale mais: quem o enviou não pode mais convidar. Nenhuma conta foi criada. Peça um novo convite a quem administra o sistema na sua empresa.",
            ));
        }
    }
    Ok(None)
}

/// Revokes, in the caller's transaction, the open invitations that no longer stand after
/// a change by `actor`: those `sender` sent (disabled, or a new role), or, with
/// `company`, every one to that company (suspended or archived). One audit row each.
pub fn revoke_fallen(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    sender: Option<&str>,
    company: Option<&str>,
    now: &str,
) -> Result<usize, AppError> {
    let mut open = Vec::new();
    if let Some(u) = sender {
        open.extend(invitations::open_sent_by(tx, u)?);
    }
    if let Some(c) = company {
        open.extend(invitations::open_for_company(tx, Some(c))?);
    }
    // Both lists may hold the same invitation: each is revoked (and audited) once.
    open.sort_by(|a, b| a.id.cmp(&b.id));
    open.dedup_by(|a, b| a.id == b.id);
    let mut revoked = 0;
    for inv in open {
        if invitation_refusal(tx, &inv)?.is_none() {
            continue;
        }
        invitations::revoke(tx, &inv.id, now)?;
        let mut entry = actor.entry(Action::InvitationRevoke, "invitation", Some(&inv.id));
        entry.company_id = inv.company_id.clone();
        entry.details = json!({
            "email": inv.email,
            "reason": if sender.is_some() { "sender_lost_right" } else { "company_inactive" },
        });
        audit::append(tx, &keys.audit, now, &entry)?;
        revoked += 1;
    }
    Ok(revoked)
}

fn queue_invitation(
    tx: &Connection,
    keys: &Keys,
    actor: &Actor,
    inv: &Invitation,
    token: &str,
    base_url: &str,
    now: &str,
) -> Result<(), AppError> {
    let company = match &inv.company_id {
        Some(c) => companies::get(tx, c)?
            .map(|c| c.legal_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let role = inv.role.label().to_lowercase();
    let m = InvitationMessage {
        inviter: inviter_for_mail(actor),
        company,
        role,
        link: format!("{base_url}/invite/{token}"),
        expires: time::db_to_br(&inv.expires_at),
    }
    .to_outgoing(
        &inv.email,
        format!("Convite para o {}", crate::services::vendor::panel()),
    )?;
    email::queue(tx, &keys.ring, &m, now)?;
    Ok(())
}

/// Invites someone by e-mail with a role (and a company, for company roles).
pub fn invite(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    email_raw: &str,
    role: Role,
    company_id: Option<&str>,
    base_url: &str,
) -> Result<Invitation, AppError> {
    let email = Email::parse(email_raw).map_err(|m| AppError::field("email", m))?;
    let company_id = if role.is_platform() { None } else { company_id };
    if !role.is_platform() && company_id.is_none() {
        return Err(AppError::field("company_id", "Escolha a empresa."));
    }
    may_invite(actor, role, company_id)?;
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_base_url = base_url.to_owned();
    let company_id = company_id.map(str::to_owned);
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let base_url = &w_base_url;
        let company_id = company_id.as_deref();
        let now = time::now_db();
        if let Some(c) = company_id {
            companies::get(tx, c)?
                .filter(|c| c.status != crate::domain::CompanyStatus::Archived)
                .ok_or(AppError::NotFound)?;
        }
        // The platform sees every account and invitation anyway: it is told at once. A
        // company admin is told only what its own company holds, so the answer is the same
        // whether the address exists elsewhere; the mailbox owner learns it on the link.
        if actor.is_platform() {
            if user_store::by_email(tx, email.as_str())?.is_some() {
                return Err(AppError::Conflict(vec![FieldError::new(
                    "email",
                    "Já existe uma conta com este e-mail.",
                )]));
            }
            if invitations::open_for_email(tx, email.as_str(), &now)? {
                return Err(AppError::Conflict(vec![FieldError::new(
                    "email",
                    "Já existe um convite em aberto para este e-mail. Reenvie-o se a pessoa não recebeu.",
                )]));
            }
        } else {
            let own = |u: &User| u.company_id.as_deref() == company_id;
            if user_store::by_email(tx, email.as_str())?.is_some_and(|u| own(&u)) {
                return Err(AppError::Conflict(vec![FieldError::new(
                    "email",
                    "Esta pessoa já faz parte da empresa.",
                )]));
            }
            if invitations::open_for_email_in(tx, email.as_str(), company_id, &now)? {
                return Err(AppError::Conflict(vec![FieldError::new(
                    "email",
                    "Já existe um convite em aberto para este e-mail. Reenvie-o se a pessoa não recebeu.",
                )]));
            }
        }
        let token = new_token();
        let inv = Invitation {
            id: new_id("inv"),
            email: email.as_str().to_string(),
            company_id: company_id.map(str::to_string),
            role,
            invited_by: inviter_label(actor),
            invited_by_user_id: actor.user_id().map(str::to_string),
            created_at: now.clone(),
            expires_at: time::to_db(time::now() + Duration::hours(INVITE_TTL_HOURS)),
            accepted_at: None,
            revoked_at: None,
            fallen: false,
        };
        invitations::insert(tx, &inv, &hash(&token))?;
        queue_invitation(tx, keys, actor, &inv, &token, base_url, &now)?;
        let mut entry = actor.entry(Action::InvitationCreate, "invitation", Some(&inv.id));
        entry.company_id = inv.company_id.clone();
        entry.details = json!({ "email": inv.email, "role": inv.role });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(inv)
    })
}

fn manageable_invitation(tx: &Connection, actor: &Actor, id: &str) -> Result<Invitation, AppError> {
    let inv = invitations::get(tx, id)?.ok_or(AppError::NotFound)?;
    let role = Some(inv.role).ok_or(AppError::NotFound)?;
    may_invite(actor, role, inv.company_id.as_deref()).map_err(|_| AppError::NotFound)?;
    if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
        return Err(AppError::field(
            "status",
            "Este convite já foi aceito ou cancelado.",
        ));
    }
    Ok(inv)
}

/// Sends the invitation again with a new link and a new 72 hours; the old link dies.
pub fn resend(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    base_url: &str,
) -> Result<Invitation, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_base_url = base_url.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let base_url = &w_base_url;
        let mut inv = manageable_invitation(tx, actor, id)?;
        let now = time::now_db();
        let token = new_token();
        inv.expires_at = time::to_db(time::now() + Duration::hours(INVITE_TTL_HOURS));
        // Whoever resends it answers for it now: it stands while they may invite.
        inv.invited_by = inviter_label(actor);
        inv.invited_by_user_id = actor.user_id().map(str::to_string);
        invitations::renew(tx, &inv, &hash(&token))?;
        queue_invitation(tx, keys, actor, &inv, &token, base_url, &now)?;
        let mut entry = actor.entry(Action::InvitationResend, "invitation", Some(id));
        entry.company_id = inv.company_id.clone();
        entry.details = json!({ "email": inv.email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(inv)
    })
}

pub fn revoke(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
) -> Result<Invitation, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let inv = manageable_invitation(tx, actor, id)?;
        let now = time::now_db();
        invitations::revoke(tx, id, &now)?;
        let mut entry = actor.entry(Action::InvitationRevoke, "invitation", Some(id));
        entry.company_id = inv.company_id.clone();
        entry.details = json!({ "email": inv.email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(inv)
    })
}

/// An open invitation behind a link, as its page shows it.
pub struct OpenInvitation {
    pub invitation: Invitation,
    /// The company's name; empty for staff.
    pub company: String,
    /// Why it can no longer be accepted, for the person holding the link.
    pub refusal: Option<&'static str>,
    /// Cancelled: by whoever manages it, or because its sender lost the right to invite
    /// or its company its access.
    pub revoked: bool,
}

const REVOKED: &str = "Este convite foi cancelado e não vale mais: quem o enviou não pode mais convidar, a empresa não está ativa, ou ele foi cancelado. Nenhuma conta foi criada. Se precisar de acesso, peça um novo convite.";

const ALREADY_HAS_ACCOUNT: &str = "Este e-mail já tem uma conta no Omie Tenant Manager, e um e-mail só pode ter uma conta. Nada foi alterado: entre com a sua senha (ou use \"Esqueci minha senha\") e, se precisar de acesso a outra empresa, fale com quem o convidou.";

/// Why an open invitation cannot be accepted now: its sender lost the right, its company
/// is not active, or its address already has an account (said only to whoever holds the
/// link, that is the mailbox's owner).
fn acceptance_refusal(
    conn: &Connection,
    inv: &Invitation,
) -> Result<Option<&'static str>, AppError> {
    if let Some(r) = invitation_refusal(conn, inv)? {
        return Ok(Some(r));
    }
    if user_store::by_email(conn, &inv.email)?.is_some() {
        return Ok(Some(ALREADY_HAS_ACCOUNT));
    }
    Ok(None)
}

/// The open invitation behind a link, with its company's name.
pub fn open_invitation(conn: &Connection, token: &str) -> Result<Option<OpenInvitation>, AppError> {
    let (inv, revoked) = match invitations::open_by_token(conn, &hash(token), &time::now_db())? {
        Some(inv) => (inv, false),
        None => match invitations::revoked_by_token(conn, &hash(token))? {
            Some(inv) => (inv, true),
            None => return Ok(None),
        },
    };
    let company = match &inv.company_id {
        Some(c) => companies::get(conn, c)?
            .map(|c| c.legal_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let refusal = if revoked {
        Some(REVOKED)
    } else {
        acceptance_refusal(conn, &inv)?
    };
    Ok(Some(OpenInvitation {
        invitation: inv,
        company,
        refusal,
        revoked,
    }))
}

/// Accepting is an approval: the person is created active, with the invited role.
pub fn accept(
    pool: &crate::db::Pool,
    keys: &Keys,
    ip: &str,
    token: &str,
    name: &str,
    np: NewPassword<'_>,
    settings: &crate::config::Settings,
) -> Result<User, AppError> {
    let cost = settings.bcrypt_cost;
    let open = open_invitation(&*pool.get()?, token)?.ok_or(AppError::NotFound)?;
    if let Some(r) = open.refusal {
        return Err(AppError::Conflict(vec![FieldError::new("invitation", r)]));
    }
    // No connection is held during bcrypt.
    let mut errors = Vec::new();
    let name = required_text(name, 120, "Informe seu nome.")
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let hashed = match new_password(np, cost) {
        Ok(h) => Some(h),
        Err(AppError::Validation(mut f)) => {
            errors.append(&mut f);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(name), Some(hashed)) = (name, hashed) else {
        return Err(AppError::Validation(errors));
    };
    let w_keys = keys.to_owned();
    let w_ip = ip.to_owned();
    let w_token = token.to_owned();
    let w_name = name.to_owned();
    let w_settings = settings.to_owned();
    db::write(pool.writer(), move |tx| {
        let keys = &w_keys;
        let ip = &w_ip;
        let token = &w_token;
        let name = &w_name;
        let settings = &w_settings;
        let now = time::now_db();
        let inv = invitations::open_by_token(tx, &hash(token), &now)?.ok_or(AppError::NotFound)?;
        // Checked again inside the transaction: the sender may have lost the right (or
        // the company its access) while the password was being hashed.
        if let Some(r) = acceptance_refusal(tx, &inv)? {
            return Err(AppError::Conflict(vec![FieldError::new("invitation", r)]));
        }
        if !invitations::accept(tx, &inv.id, &now)? {
            return Err(AppError::NotFound);
        }
        let id = new_id("usr");
        user_store::insert(
            tx,
            &NewUser {
                id: &id,
                company_id: inv.company_id.as_deref(),
                name,
                email: &inv.email,
                role: inv.role,
                status: UserStatus::Active,
                password_hash: Some(&hashed),
            },
            &now,
        )?;
        super::privacy::record_acceptance(tx, settings, Some(&id), None, "invitation", ip, &now)?;
        let mut entry = Actor::system_at(ip).entry(Action::InvitationAccept, "user", Some(&id));
        entry.actor_label = inv.email.clone();
        entry.company_id = inv.company_id.clone();
        entry.details = json!({ "invitation_id": inv.id, "role": inv.role, "name": name });
        audit::append(tx, &keys.audit, &now, &entry)?;
        user_store::get(tx, &id)?.ok_or(AppError::NotFound)
    })
}

/// Open invitations of a company (or, with `None`, of staff) the actor may see.
pub fn list_open(
    conn: &Connection,
    actor: &Actor,
    company_id: Option<&str>,
) -> Result<Vec<Invitation>, AppError> {
    let allowed = actor.is_platform()
        || (actor.role() == Some(Role::CompanyAdmin)
            && company_id.is_some()
            && actor.company_id() == company_id);
    if !allowed {
        return Err(AppError::NotFound);
    }
    let mut open = invitations::open_for_company(conn, company_id)?;
    for inv in &mut open {
        inv.fallen = invitation_refusal(conn, inv)?.is_some();
    }
    Ok(open)
}

/// Why a mailed link no longer opens its form, as its page explains it with the next
/// step. Nothing here tells whether an address has an account: only the link's own
/// state (and, for setup, whether the owner exists, which the sign-in page shows anyway).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoneLink {
    InvitationExpired,
    InvitationUsed,
    InvitationUnknown,
    ResetExpired,
    ResetUsed,
    ResetUnknown,
    SetupDone,
    SetupUnknown,
}

impl GoneLink {
    pub fn title(self) -> &'static str {
        match self {
            Self::InvitationExpired => "Convite expirado",
            Self::InvitationUsed => "Convite já usado",
            Self::InvitationUnknown => "Convite não encontrado",
            Self::ResetExpired | Self::ResetUsed | Self::ResetUnknown => {
                "Link para trocar a senha não vale mais"
            }
            Self::SetupDone => "Configuração inicial já feita",
            Self::SetupUnknown => "Link de configuração não vale mais",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::InvitationExpired => {
                "Este convite expirou — peça um novo a quem convidou. Os convites valem 72 horas."
            }
            Self::InvitationUsed => {
                "Este convite já foi usado: a conta foi criada. Entre com o seu e-mail e a senha que você escolheu."
            }
            Self::InvitationUnknown => {
                "Este link de convite não vale mais: pode ter sido substituído por um convite mais novo, ou o endereço ficou incompleto ao copiar. Confira o e-mail mais recente ou peça um novo convite a quem convidou."
            }
            Self::ResetExpired => {
                "Este link para trocar a senha expirou: ele vale uma hora. Peça um novo link; ele chega no mesmo e-mail."
            }
            Self::ResetUsed => {
                "Este link já foi usado para trocar a senha. Entre com a nova senha ou, se não lembra dela, peça um novo link."
            }
            Self::ResetUnknown => {
                "Este link para trocar a senha não vale mais: pode ter sido substituído por um pedido mais novo, ou o endereço ficou incompleto ao copiar. Use o link do e-mail mais recente ou peça um novo."
            }
            Self::SetupDone => {
                "A conta do proprietário já foi criada com este sistema; o link de configuração não é mais necessário. Entre com o seu e-mail e senha."
            }
            Self::SetupUnknown => {
                "Este link de configuração não vale mais: só o último link mostrado ao iniciar o programa funciona. Use o link mais recente que o programa mostrou ao iniciar."
            }
        }
    }

    /// The next step: where to go, and the button's words.
    pub fn next(self) -> (&'static str, &'static str) {
        match self {
            Self::InvitationUsed | Self::SetupDone | Self::ResetUsed => ("/login", "Entrar"),
            Self::ResetExpired | Self::ResetUnknown => {
                ("/password/forgot", "Pedir um novo link para trocar a senha")
            }
            Self::InvitationExpired | Self::InvitationUnknown | Self::SetupUnknown => {
                ("/login", "Ir para a página de entrada")
            }
        }
    }
}

/// Why an invitation link no longer opens (its invitation is spent, expired or unknown).
pub fn gone_invitation(conn: &Connection, token: &str) -> Result<GoneLink, AppError> {
    Ok(match invitations::by_token(conn, &hash(token))? {
        Some(inv) if inv.accepted_at.is_some() => GoneLink::InvitationUsed,
        Some(inv) if inv.revoked_at.is_none() && inv.expires_at <= time::now_db() => {
            GoneLink::InvitationExpired
        }
        _ => GoneLink::InvitationUnknown,
    })
}

/// Why a reset link no longer opens.
pub fn gone_reset(conn: &Connection, token: &str) -> Result<GoneLink, AppError> {
    Ok(match password_resets::by_token(conn, &hash(token))? {
        Some((Some(_), _)) => GoneLink::ResetUsed,
        Some((None, _)) => GoneLink::ResetExpired,
        None => GoneLink::ResetUnknown,
    })
}

/// Copying a link is for while mail cannot leave (no SMTP host in force): afterwards the
/// mail itself carries the link.
fn mail_is_off(tx: &Connection, settings: &crate::config::Settings) -> Result<(), AppError> {
    if super::mail_settings::sending_configured(tx, settings)? {
        return Err(AppError::field(
            "mail",
            "O envio de e-mail está funcionando: use \"Reenviar\" para mandar o link por e-mail.",
        ));
    }
    Ok(())
}

/// "Copiar link" of an open invitation, while mail is off: the owner or staff get a new
/// link (the old one dies, as with "Reenviar") that they hand over themselves; the mail
/// with the same link stays queued for when mail works. Audited without the link.
pub fn copy_invitation_link(
    conn: &mut Conn,
    keys: &Keys,
    settings: &crate::config::Settings,
    actor: &Actor,
    id: &str,
) -> Result<(Invitation, String), AppError> {
    if !actor.is_platform() {
        return Err(AppError::NotFound);
    }
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let actor = &w_actor;
        let id = &w_id;
        let mut inv = manageable_invitation(tx, actor, id)?;
        mail_is_off(tx, settings)?;
        let now = time::now_db();
        let token = new_token();
        inv.expires_at = time::to_db(time::now() + Duration::hours(INVITE_TTL_HOURS));
        inv.invited_by = inviter_label(actor);
        inv.invited_by_user_id = actor.user_id().map(str::to_string);
        invitations::renew(tx, &inv, &hash(&token))?;
        queue_invitation(tx, keys, actor, &inv, &token, &settings.base_url, &now)?;
        let mut entry = actor.entry(Action::InvitationLinkCopy, "invitation", Some(id));
        entry.company_id = inv.company_id.clone();
        entry.details = json!({ "email": inv.email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok((inv, format!("{}/invite/{token}", settings.base_url)))
    })
}

/// Only the owner copies password reset links, and only for the platform's people or a
/// client company's people: never a company admin (who has the e-mail button only).
pub fn may_copy_reset_link(actor: &Actor) -> Result<(), AppError> {
    match actor.role() {
        Some(Role::Owner) => Ok(()),
        Some(Role::Staff) => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

/// "Copiar link de troca de senha", while mail is off: a reset link (valid one hour)
/// for the owner to hand over; the mail with it stays queued. Audited without the link.
/// Answers the person, the link and when it expires (as stored).
pub fn copy_reset_link(
    conn: &mut Conn,
    keys: &Keys,
    settings: &crate::config::Settings,
    actor: &Actor,
    user_id: &str,
) -> Result<(User, String, String), AppError> {
    may_copy_reset_link(actor)?;
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_actor = actor.to_owned();
    let w_user_id = user_id.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let actor = &w_actor;
        let user_id = &w_user_id;
        let u = super::users::changeable(tx, actor, user_id)?;
        if u.status != UserStatus::Active {
            return Err(AppError::field(
                "status",
                "Só contas ativas podem trocar a senha.",
            ));
        }
        mail_is_off(tx, settings)?;
        let now = time::now_db();
        let token = new_token();
        let expires = time::to_db(time::now() + Duration::hours(RESET_TTL_HOURS));
        password_resets::insert(tx, &hash(&token), &u.id, &now, &expires)?;
        let link = format!("{}/password/reset/{token}", settings.base_url);
        let m = PasswordResetMessage {
            name: u.name.clone(),
            link: link.clone(),
        }
        .to_outgoing(
            &u.email,
            format!("Troca de senha no {}", crate::services::vendor::panel()),
        )?;
        email::queue(tx, &keys.ring, &m, &now)?;
        let mut entry = actor.entry(Action::PasswordResetLinkCopy, "user", Some(&u.id));
        entry.company_id = u.company_id.clone();
        entry.details = json!({ "email": u.email });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok((u, link, expires))
    })
}

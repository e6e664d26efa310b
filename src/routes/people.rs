//! Actions on one person or invitation, the same from the dashboard (`/admin/users`,
//! `/admin/invitations`) and the portal (`/portal/users`, `/portal/invitations`): one
//! route per action; the use case decides who may do it to whom.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::routes::auth::Empty;
use crate::services::{erasure, mail_settings, mailed_links, users};
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Form, redirect_outcome};

/// Whether giving `role` grants platform (owner, staff) or company-admin rights. Such a
/// grant (an invitation, an approval, a role change) asks for step-up first, like the
/// other sensitive actions: otherwise a stale session (a browser left open, a stolen
/// cookie) hands those rights to an address of the attacker's, who then passes every
/// step-up with their own password or code. A plain company user needs none.
pub fn grants_rights(role: Role) -> bool {
    role.is_platform() || role == Role::CompanyAdmin
}

/// Step-up before granting `role`: `None` when no step-up is needed (not a granting
/// role, or a fresh identity); otherwise the redirect to the step-up page, which leads
/// back to `back` (the form's page), where the person submits again.
pub fn step_up_to_grant(
    state: &State,
    session: &Session,
    person: &SignedIn,
    role: Role,
    back: &str,
) -> Option<HttpResponse> {
    if !grants_rights(role) {
        return None;
    }
    crate::routes::mfa_pages::step_up(state, session, person, back)
}

/// Where each area goes back to after an action.
pub trait Area {
    const PEOPLE: &'static str;
    /// The page that shows the anonymize button for a person (the step-up returns there).
    fn person_page(id: &str) -> String;
    /// After an invitation action: the page the invitation was listed on.
    fn after_invitation(company_id: Option<&str>) -> String;
}

pub struct Admin;
pub struct Portal;

impl Area for Admin {
    const PEOPLE: &'static str = "/admin/users";
    fn person_page(id: &str) -> String {
        format!("/admin/users/{id}")
    }
    fn after_invitation(company_id: Option<&str>) -> String {
        match company_id {
            Some(c) => format!("/admin/companies/{c}"),
            None => Self::PEOPLE.to_string(),
        }
    }
}

impl Area for Portal {
    const PEOPLE: &'static str = "/portal/users";
    fn person_page(id: &str) -> String {
        format!("/portal/users/{id}")
    }
    fn after_invitation(_: Option<&str>) -> String {
        Self::PEOPLE.to_string()
    }
}

/// An invitation form's fields, checked at the edge before anything is written: no
/// field may carry a line break or control character (the address goes into a mail
/// header, the company into the redirect), a role must be one the form offers, and a
/// company must be an id. `Err` is a 422 page with the reasons in Portuguese.
pub fn check_invite_form(
    email: &str,
    role: &str,
    company_id: Option<&str>,
) -> Result<(Role, Option<String>), PageError> {
    let mut errors = Vec::new();
    let fields = [
        ("email", "E-mail", email),
        ("role", "Papel", role),
        ("company_id", "Empresa", company_id.unwrap_or("")),
    ];
    for (field, label, value) in fields {
        if let Err(m) = crate::domain::single_line(value, label) {
            errors.push(FieldError::new(field, m));
        }
    }
    let role = match role.trim() {
        "" => Some(Role::CompanyUser),
        r => Role::parse(r),
    };
    if role.is_none() && errors.iter().all(|e| e.field != "role") {
        errors.push(FieldError::new("role", "Escolha um papel da lista."));
    }
    let company_id = company_id
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if let Some(c) = &company_id
        && !crate::domain::is_entity_id(c, "cmp")
        && errors.iter().all(|e| e.field != "company_id")
    {
        errors.push(FieldError::new(
            "company_id",
            "Empresa inválida: escolha a empresa pela página dela.",
        ));
    }
    match role {
        Some(r) if errors.is_empty() => Ok((r, company_id)),
        _ => Err(PageError(AppError::Validation(errors))),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    back: String,
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    role: String,
    /// "sim" when approving a refused sign-up was confirmed on the page.
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    back: String,
}

/// A destructive action's form: `confirm` is "sim" once the person confirmed it (the
/// page's dialog ticks the box; without JavaScript the person ticks it), and `back` is
/// "person" when the form was on the person's page.
#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub back: String,
}

/// The confirmation a destructive button asks for: without it nothing changes and the
/// person is told, in Portuguese, what to do.
pub fn confirmed(confirm: &str, what: &str) -> Result<(), AppError> {
    if confirm == "sim" {
        Ok(())
    } else {
        Err(AppError::field(
            "confirm",
            format!(
                "Nada foi feito: para {what}, marque a caixa de confirmação ao lado do botão e envie de novo."
            ),
        ))
    }
}

/// Where an action on person `id` returns: their page when it was sent from there,
/// else the list of people.
pub fn back_to<A: Area>(id: &str, back: &str) -> String {
    // Only an id this program made reaches the redirect (never a line break from a URL).
    if back == "person" && crate::domain::is_entity_id(id, "usr") {
        A::person_page(id)
    } else {
        A::PEOPLE.to_string()
    }
}

pub async fn approve<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ApproveForm>,
    session: Session,
    person: SignedIn,
) -> Result<HttpResponse, PageError> {
    let (actor, id, role) = (who.actor(), id.into_inner(), Role::parse(&f.role));
    let back = back_to::<A>(&id, &f.back);
    // Without a role the sign-up keeps its own, a company user's.
    if let Some(r) = role
        && let Some(resp) = step_up_to_grant(&state, &session, &person, r, &back)
    {
        return Ok(resp);
    }
    let confirmed = f.confirm == "sim";
    let r = state
        .run(move |conn, app| {
            let u = users::approve(
                conn,
                &app.keys,
                &actor,
                &id,
                role,
                &app.settings.base_url,
                confirmed,
            )?;
            Ok((u, mail_settings::sending_configured(conn, &app.settings)?))
        })
        .await
        .map(|(u, configured)| {
            mail_settings::mail_flash(
                configured,
                &format!(
                    "Acesso de {} aprovado. A pessoa recebe um e-mail avisando.",
                    u.name
                ),
                &format!("Acesso de {} aprovado.", u.name),
            )
        });
    redirect_outcome(&state, &back, r)
}

/// Disables an account, once confirmed (see [`confirmed`]).
pub async fn disable<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back_to::<A>(&id, &f.back);
    let r = state
        .run(move |conn, app| {
            // Who may comes first (another company's person stays "not found").
            users::changeable(conn, &actor, &id)?;
            confirmed(&f.confirm, "desativar a conta")?;
            users::set_enabled(conn, &app.keys, &actor, &id, false)
        })
        .await
        .map(|u| {
            format!(
                "Conta de {} desativada. Os acessos abertos foram encerrados.",
                u.name
            )
        });
    redirect_outcome(&state, &back, r)
}

/// Anonymizes a person (LGPD erasure), after a fresh confirmation of who asks.
pub async fn anonymize<A: Area>(
    state: State,
    who: Acting,
    person: crate::web::guard::SignedIn,
    session: actix_session::Session,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let back = A::person_page(&id);
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &person, &back) {
        return Ok(r);
    }
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            erasure::anonymize_user(conn, &app.keys, &app.settings.data_dir, &actor, &id)
        })
        .await
        .map(|u| {
            format!(
                "Dados pessoais apagados. No histórico, a pessoa aparece agora como {}.",
                u.name
            )
        });
    redirect_outcome(&state, A::PEOPLE, r)
}

pub async fn enable<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back_to::<A>(&id, &f.back);
    let r = state
        .run(move |conn, app| users::set_enabled(conn, &app.keys, &actor, &id, true))
        .await
        .map(|u| format!("Conta de {} reativada.", u.name));
    redirect_outcome(&state, &back, r)
}

pub async fn change_role<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<RoleForm>,
    session: Session,
    person: SignedIn,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back_to::<A>(&id, &f.back);
    let Some(role) = Role::parse(&f.role) else {
        return redirect_outcome(
            &state,
            &back,
            Err(AppError::field("role", "Escolha um papel.")),
        );
    };
    if let Some(r) = step_up_to_grant(&state, &session, &person, role, &back) {
        return Ok(r);
    }
    let r = state
        .run(move |conn, app| users::change_role(conn, &app.keys, &actor, &id, role))
        .await
        .map(|u| format!("{} agora é {}.", u.name, role.label()));
    redirect_outcome(&state, &back, r)
}

pub async fn send_reset<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let back = back_to::<A>(&id, &f.back);
    let r = state
        .run(move |conn, app| {
            let u = mailed_links::send_reset(conn, &app.keys, &actor, &id, &app.settings.base_url)?;
            Ok((u, mail_settings::sending_configured(conn, &app.settings)?))
        })
        .await
        .map(|(u, configured)| {
            mail_settings::mail_flash(
                configured,
                &format!("Link para trocar a senha enviado para {}.", u.email),
                &format!("Link para trocar a senha criado para {}.", u.email),
            )
        });
    redirect_outcome(&state, &back, r)
}

pub async fn resend_invitation<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| {
            let i = mailed_links::resend(conn, &app.keys, &actor, &id, &app.settings.base_url)?;
            Ok((i, mail_settings::sending_configured(conn, &app.settings)?))
        })
        .await;
    let back = A::after_invitation(r.as_ref().ok().and_then(|(i, _)| i.company_id.as_deref()));
    let m = |(i, configured): (crate::services::mailed_links::Invitation, bool)| {
        mail_settings::mail_flash(
            configured,
            &format!(
                "Convite reenviado para {}, com um novo link válido por 72 horas.",
                i.email
            ),
            &format!(
                "Convite renovado para {}, com um novo link válido por 72 horas.",
                i.email
            ),
        )
    };
    redirect_outcome(&state, &back, r.map(m))
}

pub async fn revoke_invitation<A: Area>(
    state: State,
    who: Acting,
    id: web::Path<String>,
    _f: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let r = state
        .run(move |conn, app| mailed_links::revoke(conn, &app.keys, &actor, &id))
        .await;
    let back = A::after_invitation(r.as_ref().ok().and_then(|i| i.company_id.as_deref()));
    let m = |i: crate::services::mailed_links::Invitation| {
        format!(
            "Convite para {} cancelado: o link não funciona mais.",
            i.email
        )
    };
    redirect_outcome(&state, &back, r.map(m))
}

/// A person, as their page shows them.
struct PersonView {
    id: String,
    name: String,
    email: String,
    role: String,
    role_label: &'static str,
    role_explained: &'static str,
    is_platform: bool,
    status: String,
    status_label: &'static str,
    reason: String,
    created: String,
    last_login: String,
    company_name: String,
    company_link: String,
    mfa_on: bool,
}

#[derive(askama::Template)]
#[template(path = "person.html")]
struct PersonPage {
    ctx: crate::web::page::Ctx,
    /// The dashboard's page (the portal's lacks sessions, export and the staff roles).
    admin: bool,
    people: &'static str,
    p: PersonView,
    /// The reader's own page: no *Desativar*, no *Anonimizar*.
    is_me: bool,
    /// The reader may change this person (staff may only read platform accounts).
    may_manage: bool,
    company_roles: &'static [Role],
    invitations: Vec<crate::routes::admin::companies::InvitationRow>,
    history: Vec<crate::services::history::Line>,
}

/// `GET /admin/users/{id}` and `GET /portal/users/{id}`: one person's page. A company
/// admin reads only their own company's people; any other id is "not found".
pub async fn show<A: Area>(
    state: State,
    ctx: crate::web::page::Ctx,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let (d, history) = state
        .run(move |conn, _| {
            let d = users::person(conn, &actor, &id)?;
            let history = crate::services::history::lines(conn, &actor, &d.history)?;
            Ok((d, history))
        })
        .await?;
    let admin = A::PEOPLE.starts_with("/admin");
    let u = &d.user;
    let is_platform = u.role.is_platform();
    let is_me = who.is_user(&u.id);
    let p = PersonView {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.as_str().to_string(),
        role_label: u.role.label(),
        role_explained: u.role.explained(),
        is_platform,
        status: u.status.as_str().to_string(),
        status_label: crate::views::user_status_label(u),
        reason: u.status_reason.clone(),
        created: crate::time::db_to_br(&u.created_at),
        last_login: u
            .last_login_at
            .as_deref()
            .map(crate::time::db_to_br)
            .unwrap_or_default(),
        company_name: d
            .company
            .as_ref()
            .map(|c| c.legal_name.clone())
            .unwrap_or_default(),
        company_link: match (&d.company, admin) {
            (Some(c), true) => format!("/admin/companies/{}", c.id),
            (Some(_), false) => "/portal".to_string(),
            (None, _) => String::new(),
        },
        mfa_on: d.mfa_on,
    };
    let may_manage = ctx.is_owner || !is_platform;
    crate::web::page::render(&PersonPage {
        ctx: ctx.with_nav(if admin {
            crate::web::page::Nav::Users
        } else {
            crate::web::page::Nav::People
        }),
        admin,
        people: A::PEOPLE,
        p,
        is_me,
        may_manage,
        company_roles: &[Role::CompanyUser, Role::CompanyAdmin],
        invitations: d
            .invitations_sent
            .iter()
            .map(crate::routes::admin::companies::InvitationRow::from)
            .collect(),
        history,
    })
}

//! What every page template needs: the form token, the one-time flash message, and who
//! is signed in (for the navigation). Plus post/redirect/get with a flash message.

use crate::web::Edge;
use actix_web::cookie::SameSite;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::guard::SignedIn;
use super::headers::FlashShown;
use super::{FLASH_COOKIE, State, csrf};
use crate::error::AppError;
use crate::web::error::PageError;

#[derive(Clone, Debug)]
pub struct Flash {
    pub kind: &'static str,
    pub message: String,
}

impl Flash {
    pub fn success(m: impl Into<String>) -> Self {
        Self {
            kind: "success",
            message: m.into(),
        }
    }
    /// A notice that is neither a success nor an error ("Sua sessão expirou").
    pub fn info(m: impl Into<String>) -> Self {
        Self {
            kind: "info",
            message: m.into(),
        }
    }
    pub fn error(m: impl Into<String>) -> Self {
        Self {
            kind: "error",
            message: m.into(),
        }
    }
}

/// The shared context of a rendered page.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub csrf: String,
    pub flash: Option<Flash>,
    pub user_name: Option<String>,
    pub is_owner: bool,
    /// Sign-ups waiting for the owner's decision (the navigation's badge).
    pub pending: i64,
    pub is_company_admin: bool,
    /// Which area's navigation to show.
    pub menu: Menu,
    /// Which page of the navigation this is.
    pub nav: Nav,
}

/// Which navigation a page shows: the signed-in person's area, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Menu {
    /// Nobody signed in (sign-in, sign-up, mailed links).
    None,
    Admin,
    Portal,
}

/// The page a handler renders, as the navigation knows it. An enum rather than a
/// string, so a misspelt name is a compile error instead of a menu with no current entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// A page of no menu entry (the default until a handler says which it is).
    None,
    // /admin
    Overview,
    Companies,
    Users,
    Settings,
    Audit,
    Backups,
    /// `/admin/saude`: Saúde do sistema.
    Health,
    /// `/admin/privacidade`: LGPD requests.
    Privacy,
    // /portal
    Company,
    People,
    Omie,
    History,
    // Both areas
    Applications,
    Usage,
    /// "Relatórios avançados", `/admin/relatorios`.
    Reports,
    /// "Minha conta", reached from the name in the top bar.
    Profile,
    /// The guide, `/admin/ajuda` or `/portal/ajuda`.
    Help,
}

/// One link of the navigation, ready for layout.html.
#[derive(Debug, PartialEq, Eq)]
pub struct MenuEntry {
    pub nav: Nav,
    pub href: &'static str,
    pub label: &'static str,
    /// This page's own entry (layout.html marks it with aria-current="page").
    pub current: bool,
    /// Sign-ups waiting for a decision, shown as a badge when above 0.
    pub badge: i64,
}

impl Ctx {
    pub fn with_nav(mut self, nav: Nav) -> Self {
        self.nav = nav;
        self
    }

    /// The entries of this area's navigation that this person may open, in order.
    pub fn menu_entries(&self) -> Vec<MenuEntry> {
        let entry = |nav, href, label| MenuEntry {
            nav,
            href,
            label,
            current: self.nav == nav,
            badge: 0,
        };
        let pending = |e: MenuEntry| MenuEntry {
            badge: self.pending,
            ..e
        };
        match self.menu {
            Menu::None => Vec::new(),
            Menu::Admin => {
                let mut v = vec![
                    entry(Nav::Overview, "/admin", "Visão geral"),
                    entry(Nav::Companies, "/admin/companies", "Empresas"),
                    pending(entry(Nav::Users, "/admin/users", "Usuários")),
                    entry(Nav::Applications, "/admin/applications", "Aplicações"),
                    entry(Nav::Usage, "/admin/usage", "Uso da API"),
                    entry(Nav::Reports, "/admin/relatorios", "Relatórios"),
                    entry(Nav::Audit, "/admin/audit", "Auditoria"),
                    entry(Nav::Privacy, "/admin/privacidade", "Privacidade"),
                    entry(Nav::Backups, "/admin/backups", "Backups"),
                    entry(Nav::Health, "/admin/saude", "Saúde"),
                ];
                if self.is_owner {
                    v.push(entry(Nav::Settings, "/admin/settings", "Configurações"));
                }
                v
            }
            Menu::Portal => {
                let mut v = vec![entry(Nav::Company, "/portal", "Minha empresa")];
                if self.is_company_admin {
                    v.extend([
                        pending(entry(Nav::People, "/portal/users", "Pessoas")),
                        entry(Nav::Omie, "/portal/omie", "Credenciais do Omie"),
                        entry(Nav::Applications, "/portal/applications", "Aplicações"),
                        entry(Nav::Usage, "/portal/usage", "Uso da API"),
                        entry(Nav::History, "/portal/history", "Histórico"),
                    ]);
                }
                v
            }
        }
    }

    /// Whether this is "Minha conta", whose link is the name in the top bar.
    pub fn is_profile(&self) -> bool {
        self.nav == Nav::Profile
    }

    /// The guide's section about this page: the top bar's "Ajuda" link. The anchors
    /// are `routes::help_pages`' tables of contents (a test follows every link).
    pub fn help_href(&self) -> String {
        let (base, section) = match self.menu {
            Menu::Portal => (
                "/portal/ajuda",
                match self.nav {
                    Nav::Company => "empresa",
                    Nav::People => "pessoas",
                    Nav::Omie => "omie",
                    Nav::Applications => "aplicacoes",
                    Nav::Usage => "uso",
                    Nav::History => "historico",
                    Nav::Profile => "conta",
                    _ => "",
                },
            ),
            _ => (
                "/admin/ajuda",
                match self.nav {
                    Nav::Overview => "visao-geral",
                    Nav::Companies => "empresas",
                    Nav::Users => "aprovacoes",
                    Nav::Applications => "aplicacoes",
                    Nav::Usage | Nav::Reports => "relatorios",
                    Nav::Audit => "auditoria",
                    Nav::Backups => "backups",
                    // The guide has no section yet (the lead adds `<section id="saude">`).
                    Nav::Health => "saude",
                    Nav::Privacy => "privacidade",
                    Nav::Settings => "email",
                    Nav::Profile => "conta",
                    _ => "",
                },
            ),
        };
        if section.is_empty() {
            base.to_string()
        } else {
            format!("{base}#{section}")
        }
    }

    /// Whether this is the guide itself.
    pub fn is_help(&self) -> bool {
        self.nav == Nav::Help
    }

    /// "Minha conta" of this area.
    pub fn profile_href(&self) -> &'static str {
        match self.menu {
            Menu::Portal => "/portal/profile",
            _ => "/admin/profile",
        }
    }
}

fn read_flash(req: &HttpRequest) -> Option<Flash> {
    let raw = req.cookie(FLASH_COOKIE)?;
    let bytes = URL_SAFE_NO_PAD.decode(raw.value()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, message) = text.split_once('\n')?;
    let kind = match kind {
        "success" => "success",
        "info" => "info",
        _ => "error",
    };
    req.extensions_mut().insert(FlashShown);
    Some(Flash {
        kind,
        message: message.chars().take(500).collect(),
    })
}

impl FromRequest for Ctx {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let out = (|| {
            let state = req
                .app_data::<State>()
                .ok_or_else(|| PageError(AppError::Internal(anyhow::anyhow!("no app state"))))?;
            let signed_in = req.extensions().get::<SignedIn>().cloned();
            Ok(Ctx {
                csrf: csrf::form_token(req, state),
                flash: read_flash(req),
                user_name: signed_in.as_ref().map(|s| s.principal.user.name.clone()),
                is_owner: signed_in
                    .as_ref()
                    .is_some_and(|s| s.principal.role == crate::domain::Role::Owner),
                pending: signed_in.as_ref().map(|s| s.pending).unwrap_or(0),
                is_company_admin: signed_in
                    .as_ref()
                    .is_some_and(|s| s.principal.role == crate::domain::Role::CompanyAdmin),
                menu: match &signed_in {
                    Some(s) if s.principal.role.is_platform() => Menu::Admin,
                    Some(_) => Menu::Portal,
                    None => Menu::None,
                },
                nav: Nav::None,
            })
        })();
        std::future::ready(out)
    }
}

/// Redirects stay on this site: a target that is not a plain local path (another host,
/// a line break that would split the header) is never sent. Routes build their targets
/// from checked ids, so this is the last line, not the check: it logs and goes home.
fn local(location: &str) -> &str {
    crate::domain::local_path(location).unwrap_or_else(|| {
        tracing::warn!("refused a redirect to a non-local target");
        "/"
    })
}

/// 303 See Other to `location`, carrying a message for the next page.
pub fn redirect_with(state: &State, location: &str, flash: Flash) -> HttpResponse {
    let value = URL_SAFE_NO_PAD.encode(format!("{}\n{}", flash.kind, flash.message));
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, local(location).to_string()))
        .cookie(state.cookie(FLASH_COOKIE, value, SameSite::Lax))
        .finish()
}

pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, local(location).to_string()))
        .finish()
}

/// Renders an askama template as an HTML response.
pub fn render(t: &impl askama::Template) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(t.render()?))
}

pub fn render_status(
    status: actix_web::http::StatusCode,
    t: &impl askama::Template,
) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(t.render()?))
}

pub use csrf::CsrfForm as Form;

/// A form's fields in order, repeated names kept (checkbox groups), with its CSRF token
/// checked: for forms `Form` cannot read, as serde keeps only the last of a repeated name.
pub struct FormPairs(pub Pairs);

pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`, or "".
    pub fn first(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(Pairs)
    }
}

impl FromRequest for FormPairs {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = Form::<Pairs>::from_request(req, payload);
        Box::pin(async move { Ok(FormPairs(form.await?.0)) })
    }
}
pub type Query<T> = web::Query<T>;

/// A form's answer: `done` when the use case succeeded; the form again with what to
/// fix (422) when it refused the input; any other error is a page of its own.
pub fn form_outcome<T>(
    result: Result<T, AppError>,
    done: impl FnOnce(T) -> HttpResponse,
    again: impl FnOnce(Vec<crate::error::FieldError>) -> Result<HttpResponse, PageError>,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(v) => Ok(done(v)),
        Err(AppError::Validation(e)) | Err(AppError::Conflict(e)) => {
            let mut resp = again(e)?;
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// Redirects to `back` with the use case's message, or with what to fix when the input
/// was refused; any other error is a page of its own.
pub fn redirect_outcome(
    state: &State,
    back: &str,
    result: Result<String, AppError>,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(m) => Ok(redirect_with(state, back, Flash::success(m))),
        Err(AppError::Validation(e)) | Err(AppError::Conflict(e)) => Ok(redirect_with(
            state,
            back,
            Flash::error(
                e.iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;

    fn ctx(menu: Menu, nav: Nav) -> Ctx {
        Ctx {
            csrf: String::new(),
            flash: None,
            user_name: Some("Ana <Dona>".into()),
            is_owner: menu == Menu::Admin,
            pending: 2,
            is_company_admin: menu == Menu::Portal,
            menu,
            nav,
        }
    }

    #[test]
    fn each_page_of_a_menu_marks_exactly_its_own_entry() {
        let admin = [
            Nav::Overview,
            Nav::Companies,
            Nav::Users,
            Nav::Applications,
            Nav::Usage,
            Nav::Reports,
            Nav::Audit,
            Nav::Privacy,
            Nav::Backups,
            Nav::Settings,
        ];
        let portal = [
            Nav::Company,
            Nav::People,
            Nav::Omie,
            Nav::Applications,
            Nav::Usage,
            Nav::History,
        ];
        for (menu, navs) in [(Menu::Admin, &admin[..]), (Menu::Portal, &portal[..])] {
            for &nav in navs {
                let entries = ctx(menu, nav).menu_entries();
                let current: Vec<_> = entries.iter().filter(|e| e.current).collect();
                assert_eq!(current.len(), 1, "{menu:?} {nav:?}");
                assert_eq!(current[0].nav, nav);
            }
            for nav in [Nav::None, Nav::Profile] {
                assert!(!ctx(menu, nav).menu_entries().iter().any(|e| e.current));
            }
        }
    }

    #[test]
    fn the_menu_shows_only_what_the_person_may_open() {
        let hrefs = |c: &Ctx| c.menu_entries().iter().map(|e| e.href).collect::<Vec<_>>();
        let mut staff = ctx(Menu::Admin, Nav::Overview);
        assert!(hrefs(&staff).contains(&"/admin/settings"));
        staff.is_owner = false;
        assert!(!hrefs(&staff).contains(&"/admin/settings"));
        let mut user = ctx(Menu::Portal, Nav::Company);
        assert_eq!(hrefs(&user).len(), 6);
        user.is_company_admin = false;
        assert_eq!(hrefs(&user), ["/portal"]);
        assert!(hrefs(&ctx(Menu::None, Nav::None)).is_empty());
    }

    #[derive(Template)]
    #[template(path = "layout.html")]
    struct Layout {
        ctx: Ctx,
    }

    #[test]
    fn the_layout_marks_the_current_entry_and_escapes_the_name() {
        let html = Layout {
            ctx: ctx(Menu::Portal, Nav::Omie),
        }
        .render()
        .unwrap();
        assert!(html.contains(r#"<a href="/portal/omie" aria-current="page">"#));
        assert_eq!(html.matches("aria-current").count(), 1);
        assert!(html.contains(r#"href="/portal/profile">Ana &#60;Dona&#62;</a>"#));
        let html = Layout {
            ctx: ctx(Menu::Admin, Nav::Profile),
        }
        .render()
        .unwrap();
        assert!(html.contains(r#"href="/admin/profile" aria-current="page">"#));
        assert!(
            html.contains(r#"<span class="badge" title="Pedidos aguardando aprovação">2</span>"#)
        );
    }
}

//! Pages as a screen reader meets them. Every page an owner, a company admin and a
//! visitor can open (read from the router, `routes::table()`) is in Portuguese
//! (`lang="pt-BR"`), fits a phone (`meta viewport`), and gives each visible field a
//! label. A form sent back with what to fix marks each field in error with
//! `aria-invalid="true"` and `aria-describedby` naming the element that says what is
//! wrong, so the reader says it on entering the field.

use std::collections::HashSet;

use omie_tenant_manager::routes::{self, Area};
use serde_json::json;

use crate::common::{Browser, OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::smtp::{Smtp, link, with_smtp};

const PW: &str = "senha da empresa bem longa";

/// The opening tags named `name` (`<input …>`), with where each starts. Our templates
/// escape `>` inside attribute values, so a tag ends at the first `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find(&open) {
        let start = from + i;
        let after = html[start + open.len()..].chars().next();
        let end = html[start..]
            .find('>')
            .map_or(html.len(), |e| start + e + 1);
        if after.is_some_and(|c| c.is_ascii_whitespace() || c == '>') {
            out.push((start, &html[start..end]));
        }
        from = end;
    }
    out
}

/// The value of attribute `name` in an opening tag; `Some("")` for a bare attribute.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().last();
        let after = &rest[i + name.len()..];
        rest = after;
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        if let Some(v) = after.strip_prefix("=\"") {
            return v.find('"').map(|e| &v[..e]);
        }
        if after.starts_with([' ', '>', '/', '\n']) {
            return Some("");
        }
    }
    None
}

/// Every `id="…"` of the page.
fn ids(html: &str) -> HashSet<&str> {
    html.match_indices(" id=\"")
        .filter_map(|(i, m)| {
            let v = &html[i + m.len()..];
            v.find('"').map(|e| &v[..e])
        })
        .collect()
}

/// Whether the tag at `pos` sits inside a `<label>…</label>`.
fn inside_label(html: &str, pos: usize) -> bool {
    let before = &html[..pos];
    match before.rfind("<label") {
        Some(open) => before.rfind("</label>").is_none_or(|close| close < open),
        None => false,
    }
}

/// What is wrong with the page, one line per problem; empty when nothing is.
fn problems(path: &str, html: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !html.contains(r#"<html lang="pt-BR">"#) {
        out.push(format!("{path}: no <html lang=\"pt-BR\">"));
    }
    if !html.contains(r#"<meta name="viewport""#) {
        out.push(format!("{path}: no <meta name=\"viewport\">"));
    }
    let ids = ids(html);
    for kind in ["input", "select", "textarea"] {
        for (pos, tag) in tags(html, kind) {
            if matches!(
                attr(tag, "type"),
                Some("hidden" | "submit" | "button" | "reset" | "image")
            ) {
                continue;
            }
            let by_for =
                attr(tag, "id").is_some_and(|id| html.contains(&format!("<label for=\"{id}\"")));
            let by_aria = attr(tag, "aria-label").is_some_and(|l| !l.trim().is_empty())
                || attr(tag, "aria-labelledby")
                    .is_some_and(|r| r.split_whitespace().all(|r| ids.contains(r)));
            if !(by_for || by_aria || inside_label(html, pos)) {
                out.push(format!("{path}: field without a label: {tag}"));
            }
            let described = attr(tag, "aria-describedby");
            if let Some(refs) = described {
                for r in refs.split_whitespace().filter(|r| !ids.contains(r)) {
                    out.push(format!(
                        "{path}: aria-describedby names no element {r}: {tag}"
                    ));
                }
            }
            if attr(tag, "aria-invalid") == Some("true") && described.is_none() {
                out.push(format!("{path}: field in error says not why: {tag}"));
            }
        }
    }
    out
}

/// The message the form shows for its field `name`: that field must say
/// `aria-invalid="true"` and name, with `aria-describedby`, the element holding it.
fn error_of(html: &str, name: &str) -> String {
    let (_, tag) = ["input", "select", "textarea"]
        .iter()
        .flat_map(|k| tags(html, k))
        .find(|(_, t)| attr(t, "name") == Some(name))
        .unwrap_or_else(|| panic!("no field {name}"));
    assert_eq!(attr(tag, "aria-invalid"), Some("true"), "{name}: {tag}");
    let id = attr(tag, "aria-describedby").unwrap_or_else(|| panic!("{name}: {tag}"));
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("{name}: no element {id}"));
    let text = &html[at..];
    let text = &text[text.find('>').unwrap() + 1..];
    text[..text.find('<').unwrap()].trim().to_string()
}

/// Fetches `path` and returns its problems, or None when it is not an HTML page that
/// opened (a download, a redirect).
async fn check(b: &Browser, path: &str) -> Option<Vec<String>> {
    let p = b.get(path).await;
    (p.status == 200 && p.body.starts_with("<!doctype html")).then(|| problems(path, &p.body))
}

#[tokio::test]
async fn every_page_an_owner_a_company_admin_and_a_visitor_open_is_labelled() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Aurora Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let company = c["id"].as_str().unwrap().to_string();
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": "Ana", "email": "ana@aurora.com.br", "role": "company_admin", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let ana = u["id"].as_str().unwrap().to_string();
    let (st, a) = api
        .post(
            "/api/v1/applications",
            json!({"name": "Robô de notas", "description": "Emite NF-e"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let application = a["id"].as_str().unwrap().to_string();

    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let admin = s.browser();
    admin.login_to("ana@aurora.com.br", PW, "/portal").await;
    let visitor = s.browser();

    let mut seen = Vec::new();
    let mut found = Vec::new();
    for r in routes::table() {
        if r.method.as_str() != "GET" {
            continue;
        }
        let path = r
            .template()
            .replace("/companies/{id}", &format!("/companies/{company}"))
            .replace(
                "/applications/{id}",
                &format!("/applications/{application}"),
            )
            .replace("/users/{id}", &format!("/users/{ana}"));
        if path.contains('{') {
            continue;
        }
        let who = match r.area {
            Area::Admin => &owner,
            Area::Portal => &admin,
            Area::Public => &visitor,
            _ => continue,
        };
        if let Some(p) = check(who, &path).await {
            seen.push(path);
            found.extend(p);
        }
    }
    // The router's pages, not a vacuous pass: at least these must have been read.
    for must in [
        "/login",
        "/signup",
        "/admin/companies/new",
        &format!("/admin/companies/{company}"),
        "/admin/users",
        &format!("/admin/users/{ana}/sessions"),
        "/portal",
        "/portal/users",
        "/portal/profile",
    ] {
        assert!(
            seen.iter().any(|p| p == must),
            "{must} not checked: {seen:?}"
        );
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test]
async fn fields_in_error_name_what_to_fix() {
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    s.create_owner();
    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    // The company form.
    let r = owner
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &[
                ("cnpj", "11.222.333/0001-00"),
                ("legal_name", ""),
                ("email", "sem-arroba"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems("company form", &r.body), Vec::<String>::new());
    assert!(error_of(&r.body, "cnpj").contains("CNPJ"));
    assert!(error_of(&r.body, "legal_name").contains("razão social"));
    assert!(error_of(&r.body, "email").contains("E-mail inválido"));
    assert!(!r.body.contains(r#"name="trade_name" aria-invalid"#));

    // Sign-up.
    let visitor = s.browser();
    let r = visitor
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", "123"),
                ("name", ""),
                ("email", "sem-arroba"),
                ("password", "curta"),
                ("password_confirm", "outra"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems("sign-up", &r.body), Vec::<String>::new());
    for field in ["cnpj", "name", "email", "password"] {
        assert!(!error_of(&r.body, field).is_empty(), "{field}");
    }

    // Accepting an invitation.
    let (_, c) = s
        .api(&s.token().await)
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Oficina Aurora Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let r = owner
        .submit(
            &format!("/admin/companies/{cid}"),
            "/admin/invitations",
            &[
                ("email", "bia@aurora.com.br"),
                ("role", "company_user"),
                ("company_id", cid),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let invite = link(
        &smtp.wait_for("bia@aurora.com.br", "Convite").await,
        "http://127.0.0.1:8080",
    );
    let r = visitor
        .submit(
            &invite,
            &invite,
            &[
                ("name", ""),
                ("password", "curta"),
                ("password_confirm", "outra"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems("invitation", &r.body), Vec::<String>::new());
    assert!(!error_of(&r.body, "name").is_empty());
    assert!(!error_of(&r.body, "password").is_empty());
}

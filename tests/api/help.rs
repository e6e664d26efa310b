//! Issue 12 item 9: the guide in Portuguese. Every page of the dashboard and of the
//! portal links to the guide's section about it, and that section exists.

use omie_tenant_manager::routes::help_pages::{ADMIN_SECTIONS, PORTAL_SECTIONS};
use omie_tenant_manager::routes::{self, Area};
use serde_json::json;

use crate::common::{Browser, OWNER_EMAIL, OWNER_PASSWORD, Server};

const PW: &str = "senha-longa-da-ana-1";

/// The `href` of the top bar's "Ajuda" link.
fn help_link(body: &str) -> Option<String> {
    let at = body.find("class=\"help-link\" href=\"")?;
    let rest = &body[at + "class=\"help-link\" href=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Opens every GET page of `area` as `who` and follows its "Ajuda" link: it must lead
/// to `guide` (the area's own) and to a section the guide has. Returns how many pages
/// pointed at a section rather than the top.
async fn every_page_links_its_section(
    who: &Browser,
    area: Area,
    guide: &str,
    ids: &[(&str, &str)],
) -> usize {
    let page = who.get(guide).await;
    assert_eq!(page.status, 200, "{guide}");
    let mut with_section = 0;
    let mut checked = 0;
    for r in routes::table() {
        if r.method.as_str() != "GET" || r.area != area {
            continue;
        }
        let mut path = r.template().to_string();
        for (from, to) in ids {
            path = path.replace(from, to);
        }
        if path.contains('{') {
            continue;
        }
        let p = who.get(&path).await;
        if p.status != 200 || !p.body.starts_with("<!doctype html") {
            continue;
        }
        checked += 1;
        let href = help_link(&p.body).unwrap_or_else(|| panic!("{path} has no Ajuda link"));
        let (base, anchor) = href.split_once('#').unwrap_or((&href, ""));
        assert_eq!(base, guide, "{path}'s Ajuda link leads elsewhere: {href}");
        if !anchor.is_empty() {
            with_section += 1;
            assert!(
                page.body.contains(&format!("<section id=\"{anchor}\">")),
                "{path}'s Ajuda link points at #{anchor}, which {guide} does not have"
            );
        }
    }
    assert!(
        checked >= 5,
        "only {checked} pages of {area:?} were checked"
    );
    with_section
}

#[tokio::test]
async fn every_page_links_to_its_section_of_the_guide() {
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
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": "Bia", "email": "bia@aurora.com.br", "role": "company_user", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");

    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let guide = owner.get("/admin/ajuda").await;
    assert_eq!(guide.status, 200);
    for (id, title) in ADMIN_SECTIONS {
        assert!(
            guide.body.contains(&format!("<section id=\"{id}\">")),
            "no section {id}"
        );
        assert!(
            guide.body.contains(&format!("href=\"#{id}\"")),
            "no {id} in the contents"
        );
        assert!(guide.body.contains(title), "no title {title}");
    }
    // The tasks the user's document promises the owner learns here.
    for task in [
        "Fazer backup agora",
        "kit de recuperação",
        "Cadastrar empresa",
        "Criar aplicação",
        "Enviar e-mail de teste",
        "Aprovar",
        "Administrador da empresa",
    ] {
        assert!(guide.body.contains(task), "the guide does not say {task}");
    }
    let ids = [("/companies/{id}", format!("/companies/{company}"))];
    let ids: Vec<(&str, &str)> = ids.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let sections = every_page_links_its_section(&owner, Area::Admin, "/admin/ajuda", &ids).await;
    assert!(
        sections >= 8,
        "only {sections} admin pages link to a section"
    );

    let admin = s.browser();
    admin.login_to("ana@aurora.com.br", PW, "/portal").await;
    let guide = admin.get("/portal/ajuda").await;
    assert_eq!(guide.status, 200);
    for (id, _) in PORTAL_SECTIONS {
        assert!(
            guide.body.contains(&format!("<section id=\"{id}\">")),
            "no section {id}"
        );
    }
    let sections = every_page_links_its_section(&admin, Area::Portal, "/portal/ajuda", &[]).await;
    assert!(
        sections >= 6,
        "only {sections} portal pages link to a section"
    );

    // A company user reads the portal's guide; the owner's is not theirs.
    let user = s.browser();
    user.login_to("bia@aurora.com.br", PW, "/portal").await;
    assert_eq!(user.get("/portal/ajuda").await.status, 200);
    let p = user.get("/admin/ajuda").await;
    assert_ne!(p.status, 200, "a company user opened the owner's guide");
}

//! Issue 12, item 2: history in words. The audit page, the overview, the company page and
//! the portal read changes as sentences with names and Brazilian formats (never JSON or
//! ids); the audit page shows the chain's last verification, groups its filter and exports
//! a spreadsheet for Brazilian Excel.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Driver, sign_in};
use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server, cnpj_from};

const PW: &str = "senha da empresa bem longa";
const TEAM: &str = "Equipe Omie Tenant Manager";
const STAFF_EMAIL: &str = "bruno.equipe@example.com.br";

/// The visible text of the history table in `page` (tags dropped), and its markup.
fn history_table(page: &str) -> (String, String) {
    let start = page
        .find("<table class=\"audit stack\"")
        .unwrap_or_else(|| panic!("no history table in:\n{page}"));
    let end = start + page[start..].find("</table>").unwrap();
    let markup = page[start..end].to_string();
    let mut text = String::new();
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    (text.replace("&#x2F;", "/").replace("&#x27;", "'"), markup)
}

fn no_ids_or_json(text: &str, markup: &str) {
    for bad in ["cmp_", "usr_", "cli_", "app_", "inv_"] {
        assert!(!text.contains(bad), "{bad} shown in:\n{text}");
    }
    for bad in ["{\"", "{&quot;", "&quot;:"] {
        assert!(!markup.contains(bad), "JSON ({bad}) in:\n{markup}");
    }
}

async fn login_api(s: &Server, email: &str, password: &str) -> Api {
    s.api_as(email, password).await
}

/// Two companies (A with an admin, B), and a staff member. Returns (owner API, A, B).
async fn world(s: &Server) -> (Api, String, String) {
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (st, a) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "trade_name": "Pão Quente",
                   "cnpj": "11222333000181", "phone": "(11) 98765-4321"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let (st, b) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Oficina Beta Ltda", "cnpj": cnpj_from(9), "phone": "(21) 3123-4567"}),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{a}/users"),
            json!({"email": "ana@paoquente.com.br", "name": "Ana Souza", "role": "company_admin", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{b}/users"),
            json!({"email": STAFF_EMAIL, "name": "Bruno da Equipe", "role": "company_user", "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET role = 'staff', company_id = NULL WHERE email = ?1",
            [STAFF_EMAIL],
        )
        .unwrap();
    (owner, a, b)
}

async fn patch(api: &Api, company: &str, body: Value) {
    let (st, v) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{company}"),
            Some(body),
        )
        .await;
    assert_eq!(st, 200, "{v}");
}

/// Staff changes company A's phone, A's admin changes it again, and the owner changes
/// company B: the audit page, the overview, A's page and A's portal history read the
/// changes as sentences with names, and the portal names neither B nor the staff.
#[tokio::test]
async fn a_phone_change_reads_in_words_everywhere_and_tenants_see_only_their_own() {
    let s = Server::start();
    let (owner, a, b) = world(&s).await;
    let staff = login_api(&s, STAFF_EMAIL, PW).await;
    patch(&staff, &a, json!({"phone": "(11) 3123-4567"})).await;
    let ana = login_api(&s, "ana@paoquente.com.br", PW).await;
    patch(&ana, &a, json!({"phone": "(11) 91234-5678"})).await;
    patch(&owner, &b, json!({"contact_name": "Carlos Beta"})).await;

    let by_staff = "Telefone: (11) 98765-4321 → (11) 3123-4567";
    let by_ana = "Telefone: (11) 3123-4567 → (11) 91234-5678";

    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let (text, markup) = history_table(&br.get("/admin/audit").await.body);
    no_ids_or_json(&text, &markup);
    for want in [
        by_staff,
        by_ana,
        "Bruno da Equipe",
        "Ana Souza",
        "Empresa Pão Quente",
        "Empresa alterada",
        "Contato: — → Carlos Beta",
    ] {
        assert!(text.contains(want), "{want} on the audit page:\n{text}");
    }

    // The filter finds people by the name the page shows.
    let (text, _) = history_table(&br.get("/admin/audit?actor=bruno+da").await.body);
    assert!(
        text.contains(by_staff) && !text.contains(by_ana),
        "by name:\n{text}"
    );

    let (text, markup) = history_table(&br.get("/admin").await.body);
    no_ids_or_json(&text, &markup);
    assert!(text.contains(by_ana), "overview:\n{text}");

    let (text, markup) = history_table(&br.get(&format!("/admin/companies/{a}")).await.body);
    no_ids_or_json(&text, &markup);
    assert!(
        text.contains(by_staff) && text.contains(by_ana),
        "company page:\n{text}"
    );
    assert!(!text.contains("Carlos Beta"), "only A's history:\n{text}");

    let portal = s.browser();
    portal.login_to("ana@paoquente.com.br", PW, "/portal").await;
    let page = portal.get("/portal/history").await.body;
    let (text, markup) = history_table(&page);
    no_ids_or_json(&text, &markup);
    assert!(
        text.contains(by_staff) && text.contains(by_ana) && text.contains("Ana Souza"),
        "portal:\n{text}"
    );
    assert!(
        text.contains(TEAM),
        "the staff is the vendor's team:\n{text}"
    );
    for hidden in [
        "Bruno da Equipe",
        STAFF_EMAIL,
        OWNER_EMAIL,
        "Dona Maria",
        "Oficina Beta",
        "Carlos Beta",
    ] {
        assert!(!page.contains(hidden), "{hidden} in the portal:\n{text}");
    }
}

/// The filter groups actions under Portuguese headings, and the spreadsheet is for
/// Brazilian Excel: BOM, `;`, Portuguese headers, Brazilian dates, the page's filters,
/// and no cell a spreadsheet would run as a formula.
#[tokio::test]
async fn the_filter_is_grouped_and_the_spreadsheet_opens_in_brazilian_excel() {
    let s = Server::start();
    let (owner, a, _) = world(&s).await;
    patch(
        &owner,
        &a,
        json!({"trade_name": "=HYPERLINK(\"http://x\";\"y\")"}),
    )
    .await;
    patch(&owner, &a, json!({"phone": "(11) 3123-4567"})).await;
    // A name a spreadsheet would run as a formula.
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE users SET name = '=1+2 Maria' WHERE email = ?1",
            [OWNER_EMAIL],
        )
        .unwrap();

    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = br.get("/admin/audit").await.body;
    let group = page
        .find("<optgroup label=\"Empresas\">")
        .expect("a group for companies");
    let option = page
        .find("<option value=\"company.update\"")
        .expect("company.update");
    let next_group = group + 1 + page[group + 1..].find("<optgroup").unwrap();
    assert!(
        group < option && option < next_group,
        "company.update under Empresas"
    );
    assert!(page.contains(">Empresa alterada</option>"));
    assert!(page.find("<optgroup label=\"Acesso\">").unwrap() < group);

    let export = page
        .find("/admin/audit/export.csv?")
        .expect("the export link");
    assert!(page[export..].starts_with("/admin/audit/export.csv?company_id="));
    let r = br
        .http
        .get(s.url("/admin/audit/export.csv?action=company.update"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let csv = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Quando;Quem;E-mail de quem fez;O que aconteceu;Item;Empresa;Detalhes"
    );
    assert_eq!(lines.len(), 3, "two changes, filtered: {csv}");
    for l in &lines[1..] {
        let date = &l[..10];
        assert!(
            date.as_bytes()[2] == b'/' && date.as_bytes()[5] == b'/',
            "dd/mm/aaaa: {l}"
        );
        assert!(
            l.contains(";'=1+2 Maria;") && l.contains(";Empresa alterada;"),
            "{l}"
        );
    }
    assert!(
        csv.contains("Telefone: (11) 98765-4321 → (11) 3123-4567"),
        "{csv}"
    );
    assert!(!csv.contains(";=") && !csv.contains(";\"="), "{csv}");
    assert!(!csv.contains("cmp_") && !csv.contains("{\""), "{csv}");
    // Recorded as an export.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.export'"),
        1
    );
}

/// "Verificar agora" walks the chain and stores the outcome; the page reads the stored
/// outcome (a row changed behind the program's back is found by the next verification,
/// not by a page view) and explains a broken chain in red.
#[tokio::test]
async fn verify_now_records_the_outcome_and_a_tampered_chain_is_explained() {
    let s = Server::start();
    let (_owner, _, _) = world(&s).await;
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = br.get("/admin/audit").await.body;
    assert!(page.contains("A cadeia ainda não foi verificada"), "{page}");
    assert!(page.contains("action=\"/admin/audit/verify\""));

    // Without the form's token, nothing runs.
    br.post("/admin/audit/verify", &[]).await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM app_settings WHERE key = 'audit.last_verification'"),
        0
    );

    let r = br.submit("/admin/audit", "/admin/audit/verify", &[]).await;
    assert_eq!(r.location.as_deref(), Some("/admin/audit"));
    let page = br.get("/admin/audit").await.body;
    assert!(page.contains("Cadeia íntegra, verificada em "), "{page}");
    assert!(page.contains(" às "), "{page}");

    // A row changed in the database, as an intruder would.
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE audit_log SET details = '{\"fields\":{\"legal_name\":\"Outra\"}}' WHERE id = 2",
            [],
        )
        .unwrap();
    let page = br.get("/admin/audit").await.body;
    assert!(
        page.contains("Cadeia íntegra, verificada em "),
        "the page reads the stored verification"
    );
    br.submit("/admin/audit", "/admin/audit/verify", &[]).await;
    let page = br.get("/admin/audit").await.body;
    assert!(
        page.contains("A cadeia de auditoria está quebrada no registro nº 2"),
        "{page}"
    );
    assert!(page.contains("class=\"flash flash-error chain-broken\""));
    assert!(page.contains("O que fazer"));
    assert!(!page.contains("Cadeia íntegra, verificada"));
    // ... and it is an alert, mailed to the alert recipients.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM alerts WHERE kind = 'audit_chain' AND active = 1"),
        1
    );
}

/// In a real browser, at 1366 px and at 390 px: the owner changes a company's phone on
/// its page and reads the change, in words, on the audit page, which fits the window.
#[tokio::test]
async fn the_owner_changes_a_phone_and_reads_it_on_the_audit_page_in_a_browser() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let s = Server::start();
    let (_owner, a, _) = world(&s).await;
    d.laptop().await;
    sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Visão geral").await;
    d.goto(&s.url(&format!("/admin/companies/{a}/edit"))).await;
    d.type_into("#phone", "1131234567").await;
    d.click("main button[type=submit]").await;
    d.wait_for("Alterações salvas.").await;
    d.goto(&s.url("/admin/audit")).await;
    let page = d
        .wait_for("Telefone: (11) 98765-4321 → (11) 3123-4567")
        .await;
    assert!(page.contains("Dona Maria") && page.contains("Empresa Pão Quente"));
    assert_eq!(d.overflow().await, None, "the audit page fits 1366 px");
    if let Ok(dir) = std::env::var("OTM_SCREENSHOTS") {
        d.screenshot(&dir, "history_audit_1366").await;
    }

    d.phone().await;
    d.goto(&s.url(&format!("/admin/companies/{a}/edit"))).await;
    d.type_into("#phone", "11912345678").await;
    d.tap("main button[type=submit]").await;
    d.wait_for("Alterações salvas.").await;
    d.goto(&s.url("/admin/audit")).await;
    d.wait_for("Telefone: (11) 3123-4567 → (11) 91234-5678")
        .await;
    assert_eq!(d.overflow().await, None, "the audit page fits 390 px");
    if let Ok(dir) = std::env::var("OTM_SCREENSHOTS") {
        d.screenshot(&dir, "history_audit_390").await;
    }
}

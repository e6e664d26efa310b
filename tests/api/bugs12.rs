//! Issue 12, item 10: the bugs found when the product was tried as a new user would.
//! Each test failed against the code before its fix.

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Page, Server};

/// The value of the hidden field `name` in a page.
fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).expect("page has the field") + marker.len();
    let end = page.body[start..].find('"').unwrap();
    page.body[start..start + end].to_string()
}

/// Refreshing the page that showed a new application's secret re-posted the form and
/// created another application (and *Gerar novo segredo* another secret): now the POST
/// redirects, the secret is shown by one GET, and neither a refresh nor a re-POST of the
/// same form creates anything.
#[tokio::test]
async fn a_refresh_of_the_secret_page_creates_nothing() {
    let s = Server::start();
    s.create_owner();
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let form = br.get("/admin/applications").await;
    let fields = [
        ("csrf_token", form.csrf()),
        ("once", hidden(&form, "once")),
        ("name", "Robô de notas".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = br.post("/admin/applications", &fields).await;
    assert_eq!(r.status, 303, "post/redirect/get");
    let shown_at = r.location.clone().unwrap();
    assert!(shown_at.ends_with("/secret"), "{shown_at}");
    let shown = br.get(&shown_at).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("id=\"client-secret\""), "shown once");
    // A refresh: no secret, and no second application.
    let again = br.get(&shown_at).await;
    assert_eq!(again.status, 303);
    let app_page = br.get(again.location.as_deref().unwrap()).await;
    assert!(
        app_page.body.contains("já foi mostrado"),
        "{}",
        app_page.body
    );
    assert!(!app_page.body.contains("id=\"client-secret\""));
    // The same form posted again (what a browser's refresh re-sends) creates nothing.
    let r = br.post("/admin/applications", &fields).await;
    assert_eq!(r.status, 303);
    assert_eq!(s.count("SELECT COUNT(*) FROM applications"), 1);

    // *Gerar novo segredo*: the same.
    let app = shown_at.trim_end_matches("/secret").to_string();
    let page = br.get(&app).await;
    let fields = [("csrf_token", page.csrf()), ("once", hidden(&page, "once"))];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = br.post(&format!("{app}/rotate"), &fields).await;
    assert_eq!(r.location.as_deref(), Some(shown_at.as_str()));
    assert!(
        br.get(&shown_at)
            .await
            .body
            .contains("id=\"client-secret\"")
    );
    assert_eq!(br.get(&shown_at).await.status, 303, "shown once");
    br.post(&format!("{app}/rotate"), &fields).await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM application_secrets"),
        2,
        "one rotation, not two"
    );
}

/// With `OTM_BIND` on port 0 and no `OTM_BASE_URL`, the printed setup link pointed at
/// port 8080, where nothing listens: it now uses the port actually bound.
#[tokio::test]
async fn port_zero_without_a_base_url_prints_a_setup_link_that_works() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::common::command(dir.path(), &[]);
    cmd.env_remove("OTM_BASE_URL")
        .env("OTM_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (mut link, mut port) = (None, None);
    for line in out.lines().map_while(Result::ok) {
        if let Some(l) = line.strip_prefix("setup link: ") {
            link = Some(l.to_string());
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            port = a.rsplit(':').next().map(str::to_string);
            break;
        }
    }
    let (link, port) = (link.expect("a setup link"), port.expect("a port"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::get(&link).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/setup/")),
        "{link} (bound to {port})"
    );
    assert_eq!(r.unwrap().status(), 200, "{link}");
}

/// The overview called the backup healthy ("Último backup válido: agora") while its
/// off-site copy was failing; and while the first backup ran, the backups page said
/// "clique em Fazer backup agora" with that button hidden.
#[tokio::test]
async fn the_overview_warns_of_a_failing_copy_and_a_running_first_backup_is_said() {
    let s = Server::start_with(&[("OTM_BACKUP_REMOTE", "semdestino:otm")]);
    s.create_owner();
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    // A first backup running (as the job marks it while it works).
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    db.execute(
        "INSERT INTO backups (id, kind, status, started_at) VALUES ('bkp_running', 'manual', 'running', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
        [],
    )
    .unwrap();
    let page = br.get("/admin/backups").await;
    assert!(
        !page.body.contains("Clique em <strong>Fazer backup agora"),
        "{}",
        page.body
    );
    assert!(page.body.contains("o primeiro está sendo feito agora"));
    assert!(
        br.get("/admin")
            .await
            .body
            .contains("Primeiro backup em andamento")
    );
    db.execute("DELETE FROM backups", []).unwrap();

    // A good local backup whose off-site copy failed.
    let api = s.api(&s.token().await);
    let b = crate::backups::api_backup(&api).await;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["remote_status"], "failed", "{b}");
    let home = br.get("/admin").await;
    assert!(home.body.contains("id=\"copy-failing\""), "{}", home.body);
    assert!(
        home.body
            .contains("card card-warn\" href=\"/admin/backups\"")
    );
}

/// Company names were sorted by bytes: "Belo Horizonte" before "Belém", "Água" after
/// "Zeta". They are now in Portuguese order, in the API and on the page.
#[tokio::test]
async fn company_names_are_in_portuguese_order() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    for (name, cnpj) in [
        ("Zeta Comércio", "11222333000181"),
        ("Belo Horizonte Ltda", "00000000000191"),
        ("Água Viva", "33000167000101"),
        ("Belém Pescados", "11444777000161"),
    ] {
        let (st, c) = api
            .post(
                "/api/v1/companies",
                serde_json::json!({"legal_name": name, "cnpj": cnpj}),
            )
            .await;
        assert_eq!(st, 201, "{c}");
    }
    let (_, list) = api.get("/api/v1/companies").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["legal_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Água Viva",
            "Belém Pescados",
            "Belo Horizonte Ltda",
            "Zeta Comércio"
        ]
    );
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = br.get("/admin/companies").await.body;
    let at = |n: &str| page.find(n).unwrap();
    assert!(at("Água Viva") < at("Belém Pescados"));
    assert!(at("Belém Pescados") < at("Belo Horizonte Ltda"));
}

/// The overview said "1 usuários"; numbers had no thousands separators; a page that is
/// not there must say so in Portuguese (the API's English `detail` is for programs).
#[tokio::test]
async fn counts_agree_in_number_and_missing_pages_speak_portuguese() {
    let s = Server::start();
    s.create_owner();
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let home = br.get("/admin").await.body;
    let card = &home[home.find("id=\"users-count\"").expect("the people card")..];
    let card = &card[..card.find("</div>").unwrap()];
    assert!(
        card.contains("usuário") && !card.contains("usuários"),
        "{card}"
    );
    assert!(home.contains("empresas ativas"), "zero is plural");
    for path in ["/admin/companies/cmp_naoexiste", "/admin/nada-aqui"] {
        let p = br.get(path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("encontrad"), "{path}: {}", p.body);
        assert!(!p.body.contains("Not Found"), "{path}");
    }
}

/// An off-site copy failure showed rclone's English error as the explanation: the page
/// now says in Portuguese what it means and what to do, with rclone's words folded away.
#[tokio::test]
async fn an_offsite_copy_failure_is_explained_in_portuguese() {
    let s = Server::start_with(&[("OTM_BACKUP_REMOTE", "semdestino:otm")]);
    s.create_owner();
    let api = s.api(&s.token().await);
    let b = crate::backups::api_backup(&api).await;
    assert_eq!(b["remote_status"], "failed", "{b}");
    let br = s.browser();
    br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = br.get("/admin/backups").await.body;
    assert!(
        page.contains("não existe na configuração do rclone"),
        "{page}"
    );
    let english = "find section in config file";
    let mut rest = page.as_str();
    let mut seen = 0;
    while let Some(i) = rest.find(english) {
        let before = &rest[..i];
        let opened = before.rfind("<details>");
        let closed = before.rfind("</details>");
        assert!(opened > closed, "rclone's words outside <details>: {page}");
        seen += 1;
        rest = &rest[i + english.len()..];
    }
    assert!(seen > 0, "the technical detail is kept, folded away");
}

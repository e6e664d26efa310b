//! The owner's first hour, in real headless Chromium driven over WebDriver.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver and every Chromium it starts, ended when this is dropped — also when a
/// test panics, and also when the session was never made. chromedriver runs in a process
/// group of its own, which the browsers it launches (and their zygotes, renderers and
/// helpers) inherit, so one signal to the group reaches them all; killing chromedriver
/// alone used to leave its browsers running, reparented to init.
struct DriverProcess {
    child: Child,
}

impl DriverProcess {
    fn spawn(chromedriver: &str, port: u16) -> DriverProcess {
        use std::os::unix::process::CommandExt;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        DriverProcess { child }
    }
}

/// Signals a whole process group through kill(1), since the tests link no libc.
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)).
        let pgid = self.child.id();
        signal_group(pgid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && group_alive(pgid) {
            std::thread::sleep(Duration::from_millis(50));
            let _ = self.child.try_wait();
        }
        signal_group(pgid, "-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// State and process group of each live process, from /proc/PID/stat (the fields after
/// the command name, which may itself hold spaces or parentheses).
fn processes() -> Vec<(u32, String, u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
            let state = rest.next()?.to_string();
            let pgid = rest.nth(1)?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some((pid, state, pgid, cmdline))
        })
        .filter(|(_, state, _, _)| state != "Z")
        .collect()
}

fn group_alive(pgid: u32) -> bool {
    processes().iter().any(|(_, _, g, _)| *g == pgid)
}

/// A minimal W3C WebDriver client: just the commands these tests use.
pub(crate) struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    port: u16,
    process: DriverProcess,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    /// Ends the session first, so chromedriver closes Chromium the clean way; the
    /// process group is then signalled by `DriverProcess`, whatever is left.
    fn drop(&mut self) {
        delete_session(self.port, &self.session);
    }
}

/// `DELETE /session/{id}` over a plain socket: `Drop` cannot await reqwest.
fn delete_session(port: u16, session: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    ) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // Wait for the whole answer (the browser is closed by then), not for the socket to
    // close: chromedriver keeps it open despite `Connection: close`.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// `None` when chromedriver is not installed and the run allows skipping.
    pub(crate) async fn start() -> Option<Driver> {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(chromedriver) = chromedriver else {
            if std::env::var("OTM_SKIP_BROWSER").as_deref() == Ok("1") {
                eprintln!(
                    "browser test skipped: chromedriver not installed and OTM_SKIP_BROWSER=1"
                );
                return None;
            }
            panic!(
                "chromedriver not found: run scripts/test.sh, which installs chromium and chromium-driver"
            );
        };
        let port = free_port();
        // From here on, a panic ends chromedriver and whatever it started.
        let process = DriverProcess::spawn(chromedriver, port);
        // reqwest is built without a default TLS provider (as in common.rs).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A profile of its own per browser, named so leftovers can be told apart.
        let profile = tempfile::Builder::new()
            .prefix("otm-chromium-")
            .tempdir()
            .unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-default-apps", "--disable-sync", "--no-first-run",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        Some(Driver {
            http,
            base,
            session,
            port,
            process,
            profile,
        })
    }

    pub(crate) async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "element {css} not found: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub(crate) async fn value_of(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{el}/property/value"),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    pub(crate) async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits until the address contains `part` (a navigation finished).
    pub(crate) async fn wait_for_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "address never contained {part:?}; it is {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub(crate) async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Makes the window a laptop's: 1366 CSS pixels wide (900 high).
    pub(crate) async fn laptop(&self) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1366, "height": 900})),
        )
        .await;
        let w = self.script("return window.innerWidth;").await;
        assert_eq!(w, 1366, "the window did not widen to 1366 px");
    }

    /// Makes the window a phone's: 390 CSS pixels wide (844 high).
    pub(crate) async fn phone(&self) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            // Taller when taking screenshots, to see whole pages.
            Some(json!({"width": 390, "height": if std::env::var_os("OTM_SCREENSHOTS").is_some() { 2400 } else { 844 }})),
        )
        .await;
        let w = self.script("return window.innerWidth;").await;
        assert_eq!(w, 390, "the window did not narrow to 390 px");
    }

    /// Clicks like a finger: the element must be shown and not covered, or this panics
    /// with WebDriver's reason ("element not interactable", "click intercepted").
    pub(crate) async fn tap(&self, css: &str) {
        let el = self.find(css).await;
        let v = self
            .cmd(
                reqwest::Method::POST,
                &format!("/element/{el}/click"),
                Some(json!({})),
            )
            .await;
        assert!(v.is_null(), "tapping {css} failed: {v}");
    }

    /// Saves the window as `{dir}/{path with / as _}.png` (for looking at the pages,
    /// when OTM_SCREENSHOTS names a directory).
    pub(crate) async fn screenshot(&self, dir: &str, path: &str) {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .unwrap_or_default();
        let name = path.trim_matches('/').replace('/', "_");
        let _ = std::fs::write(
            format!("{dir}/{}.png", if name.is_empty() { "root" } else { &name }),
            png,
        );
    }

    /// What makes the page wider than the window, or None when nothing does. Content
    /// that scrolls inside its own box (a wide table) does not widen the page.
    pub(crate) async fn overflow(&self) -> Option<String> {
        let v = self.script(OVERFLOW).await;
        v.as_str().map(str::to_string)
    }

    /// Waits until the page source contains `text`.
    pub(crate) async fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let src = self.source().await;
            if src.contains(text) {
                return src;
            }
            assert!(
                Instant::now() < deadline,
                "page never showed {text:?}; it shows:\n{src}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn owner_sets_up_signs_in_and_manages_a_company_in_chromium() {
    let s = Server::start();
    let Some(d) = Driver::start().await else {
        return;
    };
    let token = s.setup_token.clone().unwrap();

    // The setup link creates the owner.
    d.goto(&s.url(&format!("/setup/{token}"))).await;
    d.wait_for("Crie a conta do proprietário").await;
    d.type_into("#name", "Dona Maria").await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.type_into("#password_confirm", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Conta do proprietário criada").await;

    // Sign in.
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;

    // Create a company, typing the CNPJ without its mask: the page masks and checks it.
    d.goto(&s.url("/admin/companies/new")).await;
    d.type_into("#cnpj", "12abc34501de00").await;
    d.wait_for("dígitos verificadores não conferem").await;
    d.type_into("#cnpj", "12abc34501de35").await;
    d.wait_for("CNPJ válido.").await;
    assert_eq!(d.value_of("#cnpj").await, "12.ABC.345/01DE-35");
    d.type_into("#legal_name", "Oficina Mecânica Aurora Ltda")
        .await;
    d.type_into("#phone", "11912345678").await;
    assert_eq!(d.value_of("#phone").await, "(11) 91234-5678");
    d.click("main button[type=submit]").await;
    d.wait_for("Empresa Oficina Mecânica Aurora Ltda cadastrada.")
        .await;
    let company_url = d.url().await;

    // Find it by search.
    d.goto(&s.url("/admin/companies")).await;
    d.type_into("input[name=q]", "aurora").await;
    d.click(".filters button[type=submit]").await;
    d.wait_for_url("q=aurora").await;
    d.wait_for("Oficina Mecânica Aurora Ltda").await;
    d.click("table.companies a").await;
    d.wait_for_url("/admin/companies/cmp_").await;
    d.wait_for("12.ABC.345/01DE-35").await;
    assert_eq!(d.url().await, company_url);

    // Edit it.
    d.click("a[href$='/edit']").await;
    d.wait_for("Editar empresa").await;
    d.type_into("#trade_name", "Aurora Auto").await;
    d.click("main button[type=submit]").await;
    d.wait_for("Alterações salvas.").await;

    // The history shows both changes, and so does the audit page.
    let page = d.wait_for("Empresa alterada").await;
    assert!(page.contains("Empresa cadastrada"));
    d.goto(&s.url("/admin/audit")).await;
    // (Match the rows' action codes, not the labels, which the filter's options also show.)
    let audit = d.wait_for(r#"data-action="auth.login""#).await;
    assert!(audit.contains(r#"data-action="company.update""#));
    assert!(audit.contains(r#"data-action="user.create""#));
}

#[tokio::test]
async fn a_person_signs_up_is_approved_and_tests_omie_credentials_in_the_portal() {
    let stub = crate::omie_stub::start(&[("1724630275368", "11222333000181")]);
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", stub.base.as_str())]);
    s.create_owner();
    let api = s.api(&s.token().await);
    api.post(
        "/api/v1/companies",
        json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": "11222333000181"}),
    )
    .await;
    let Some(d) = Driver::start().await else {
        return;
    };

    // A person asks for access.
    d.goto(&s.url("/signup")).await;
    d.type_into("#cnpj", "11222333000181").await;
    d.wait_for("CNPJ válido.").await;
    d.type_into("#name", "Joana Lima").await;
    d.type_into("#email", "joana@padaria.com.br").await;
    d.type_into("#password", "farinha fermento forno").await;
    d.type_into("#password_confirm", "farinha fermento forno")
        .await;
    d.click("main button[type=submit]").await;
    d.wait_for("Pedido recebido").await;

    // The owner approves on the dashboard, as company admin.
    d.goto(&s.url("/login")).await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;
    d.click("a[href='/admin/users']").await;
    d.wait_for("joana@padaria.com.br").await;
    let role = d.find("form[action$='/approve'] select[name=role]").await;
    d.cmd(
        reqwest::Method::POST,
        &format!("/element/{role}/value"),
        Some(json!({"text": "Administrador"})),
    )
    .await;
    d.click("form[action$='/approve'] button").await;
    d.wait_for("Acesso de Joana Lima aprovado").await;
    d.click("header form.logout button").await;
    d.wait_for("Você saiu").await;

    // The person signs in to the portal and enters and tests the Omie credentials.
    d.type_into("#email", "joana@padaria.com.br").await;
    d.type_into("#password", "farinha fermento forno").await;
    d.click("main button[type=submit]").await;
    d.wait_for("Padaria Pão Quente Ltda").await;
    d.click("a[href='/portal/omie']").await;
    d.wait_for("ainda não tem credenciais").await;
    d.type_into("#app_key", "1724630275368").await;
    d.type_into("#app_secret", "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a")
        .await;
    d.click("form[action='/portal/omie'] button").await;
    d.wait_for("Credenciais do Omie salvas").await;
    let page = d.source().await;
    assert!(
        !page.contains("9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"),
        "the secret is masked"
    );
    d.click("form[action='/portal/omie/test'] button").await;
    d.wait_for("CNPJ confere").await;
    assert_eq!(stub.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn owner_presses_fazer_backup_agora_and_sees_it_done() {
    let s = Server::start();
    s.create_owner();
    let Some(d) = Driver::start().await else {
        return;
    };
    d.goto(&s.url("/login")).await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;
    d.wait_for("Nenhum backup válido ainda").await;

    d.click("a[href='/admin/backups']").await;
    d.wait_for("Ainda não há nenhum backup válido").await;
    d.click("form[action='/admin/backups'] button[type=submit]")
        .await;
    d.wait_for("Backup iniciado").await;
    // The page refreshes itself while the backup runs; then the row says it is done.
    let page = d.wait_for("status-ok").await;
    assert!(page.contains("Concluído"));
    assert!(page.contains("Manual"));
    d.wait_for("Último backup válido").await;
    d.goto(&s.url("/admin")).await;
    d.wait_for("Último backup válido: <strong>agora há pouco</strong>")
        .await;
    let backups: Vec<_> = std::fs::read_dir(s.dir.path().join("backups"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".age"))
        .collect();
    assert_eq!(backups.len(), 1);
}

/// Every process a browser test starts ends with it, also when the test panics half-way.
#[tokio::test]
async fn a_browser_test_that_panics_leaves_no_chromium_behind() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = tokio::spawn(async move {
        let Some(d) = Driver::start().await else {
            tx.send(None).unwrap();
            return;
        };
        d.goto("about:blank").await;
        let profile = d.profile.path().display().to_string();
        tx.send(Some((profile, d.process.child.id()))).unwrap();
        panic!("a browser test failing half-way (expected)");
    })
    .await;
    let Some((profile, pgid)) = rx.recv().unwrap() else {
        return;
    };
    assert!(outcome.unwrap_err().is_panic());
    let left: Vec<_> = processes()
        .into_iter()
        .filter(|(_, _, g, cmdline)| *g == pgid || cmdline.contains(&profile))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
    assert!(!std::path::Path::new(&profile).exists(), "profile kept");
}

/// A fresh install that requires the second factor of owners: the owner made through
/// the setup link is led to the enrolment page at the first sign-in, turns it on with a
/// code computed from the secret the page shows, signs out, and signs in with a code.
#[tokio::test]
async fn the_owner_turns_on_the_second_factor_and_signs_in_with_a_code_in_chromium() {
    let s = Server::start_with(&[("OTM_MFA_REQUIRED", "owner,staff")]);
    let Some(d) = Driver::start().await else {
        return;
    };
    let token = s.setup_token.clone().unwrap();
    d.goto(&s.url(&format!("/setup/{token}"))).await;
    d.wait_for("Crie a conta do proprietário").await;
    d.type_into("#name", "Dona Maria").await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.type_into("#password_confirm", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Conta do proprietário criada").await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;

    // Led to the enrolment page, whatever page is asked for.
    d.wait_for("exige a verificação em duas etapas").await;
    d.goto(&s.url("/admin/companies")).await;
    d.wait_for_url("/admin/profile/mfa").await;
    d.click("main form[action$='/start'] button").await;
    let page = d.wait_for("leia este QR code").await;
    assert!(
        page.contains("data:image/svg+xml;base64,"),
        "QR code as an image"
    );
    let marker = "id=\"mfa-secret\">";
    let start = page.find(marker).unwrap() + marker.len();
    let secret = page[start..start + page[start..].find('<').unwrap()].to_string();
    let t = crate::mfa::settle().await;
    d.type_into("#otp", &crate::mfa::code_at(&secret, t - 30))
        .await;
    d.click("main form[action$='/confirm'] button").await;
    let page = d.wait_for("Seus códigos de recuperação").await;
    assert!(page.contains("download=\"codigos-de-recuperacao.txt\""));
    d.wait_for("Códigos de recuperação restantes: <strong>10</strong>")
        .await;

    // Sign out, sign in again: the code is asked in a second step.
    d.click("form.logout button").await;
    d.wait_for("Você saiu").await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Código de verificação").await;
    d.type_into("#otp", &crate::mfa::code_at(&secret, t)).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;
}

#[tokio::test]
async fn a_company_user_downloads_their_data_asks_for_erasure_and_the_owner_answers() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Pão Quente Ltda", "cnpj": "11222333000181"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{}/users", c["id"].as_str().unwrap()),
            json!({"name": "Bruno Balconista", "email": "bruno@padaria.com.br",
                   "role": "company_user", "password": "farinha fermento forno"}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let Some(d) = Driver::start().await else {
        return;
    };

    // The person signs in and goes to "Minha conta".
    d.goto(&s.url("/login")).await;
    d.type_into("#email", "bruno@padaria.com.br").await;
    d.type_into("#password", "farinha fermento forno").await;
    d.click("main button[type=submit]").await;
    d.wait_for("Padaria Pão Quente Ltda").await;
    d.goto(&s.url("/portal/profile")).await;
    d.wait_for("Baixar meus dados").await;
    // The link downloads the JSON with the browser's own session.
    d.find("a[href='/portal/profile/export']").await;
    let got = d
        .cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[0];
                           const a = document.querySelector(\"a[href='/portal/profile/export']\");
                           fetch(a.href).then(r => r.text()).then(done, e => done('erro: ' + e));",
                "args": [],
            })),
        )
        .await;
    let doc: Value = serde_json::from_str(got.as_str().unwrap_or("")).unwrap_or(Value::Null);
    assert_eq!(doc["person"]["email"], "bruno@padaria.com.br", "{got}");
    assert!(doc["events"].as_array().is_some_and(|e| !e.is_empty()));

    // An erasure request.
    let kind = d.find("#privacy-kind").await;
    d.cmd(
        reqwest::Method::POST,
        &format!("/element/{kind}/value"),
        Some(json!({"text": "Eliminação"})),
    )
    .await;
    d.type_into("#privacy-message", "Saí da empresa; apaguem meus dados.")
        .await;
    d.click("form[action='/portal/profile/privacy-requests'] button")
        .await;
    d.wait_for("Pedido registrado").await;
    let page = d.wait_for("Eliminação dos meus dados").await;
    assert!(page.contains("Aberto"), "the person sees it open");
    d.click("header form.logout button").await;
    d.wait_for("Você saiu").await;

    // The owner answers it on /admin/privacidade.
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;
    d.click("a[href='/admin/privacidade']").await;
    d.wait_for("Bruno Balconista").await;
    assert!(d.source().await.contains("vence em 15 dias"));
    d.click("form[action$='/resolve'] input[value=done]").await;
    d.type_into("form[action$='/resolve'] textarea", "Dados apagados.")
        .await;
    d.click("form[action$='/resolve'] button").await;
    d.wait_for("respondido (atendido)").await;
    let page = d.wait_for("Pedidos respondidos").await;
    assert!(page.contains("Nenhum pedido esperando resposta."));
    let (_, q) = api.get("/api/v1/privacy/requests").await;
    assert_eq!(q["items"][0]["status"], "done");
    assert_eq!(q["items"][0]["kind"], "erasure");
}

/// The owner switches e-mail on in the page (no SMTP variable set), at a laptop's and at a
/// phone's width, and the test message arrives on the loopback SMTP server.
#[tokio::test]
async fn the_owner_configures_smtp_in_the_page_and_the_test_mail_arrives_in_chromium() {
    let smtp = crate::smtp::Smtp::start();
    let s = Server::start();
    s.create_owner();
    let Some(d) = Driver::start().await else {
        return;
    };
    d.laptop().await;
    d.goto(&s.url("/login")).await;
    d.type_into("#email", OWNER_EMAIL).await;
    d.type_into("#password", OWNER_PASSWORD).await;
    d.click("main button[type=submit]").await;
    d.wait_for("Visão geral").await;
    d.goto(&s.url("/admin/settings")).await;
    d.wait_for("ainda não está configurado").await;
    d.type_into("#host", "127.0.0.1").await;
    d.type_into("#port", &smtp.port.to_string()).await;
    d.click("#security option[value='none']").await;
    d.type_into("#password", "senha-do-navegador-123").await;
    d.type_into("#mail_from", "Gestor <gestor@example.com.br>")
        .await;
    d.click("form[action='/admin/settings/mail'] button[type=submit]")
        .await;
    let page = d.wait_for("Configurações de e-mail salvas").await;
    assert!(!page.contains("senha-do-navegador-123"));
    d.click("form[action='/admin/settings/test-email'] button[type=submit]")
        .await;
    d.wait_for(&format!("E-mail de teste enviado para {OWNER_EMAIL}"))
        .await;
    smtp.wait_for(OWNER_EMAIL, "Teste de e-mail").await;

    // At a phone's width, the same button works.
    d.cmd(
        reqwest::Method::POST,
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    )
    .await;
    d.goto(&s.url("/admin/settings")).await;
    d.type_into(
        "form[action='/admin/settings/test-email'] input[name=to]",
        "celular@example.com.br",
    )
    .await;
    d.click("form[action='/admin/settings/test-email'] button[type=submit]")
        .await;
    d.wait_for("E-mail de teste enviado para celular@example.com.br")
        .await;
    smtp.wait_for("celular@example.com.br", "Teste de e-mail")
        .await;
}

/// `null` when the page is no wider than the window; else the widths and the first
/// elements sticking out on the right (outside any box that scrolls by itself).
const OVERFLOW: &str = r#"
const w = window.innerWidth, sw = document.documentElement.scrollWidth;
if (sw <= w) return null;
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.right <= w + 1) continue;
  let p = el.parentElement, inside = false;
  while (p && p !== document.body) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden') { inside = true; break; }
    p = p.parentElement;
  }
  if (inside) continue;
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().replace(/\s+/g, '.') : '');
  out.push(name + ' (right ' + Math.round(r.right) + ')');
  if (out.length >= 6) break;
}
return 'page ' + sw + ' px wide in a ' + w + ' px window: ' + out.join(', ');
"#;

/// Signs `d` in through the login form and waits for `home`'s heading text.
pub(crate) async fn sign_in(d: &Driver, s: &Server, email: &str, password: &str, landed: &str) {
    d.goto(&s.url("/login")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", password).await;
    d.tap("main button[type=submit]").await;
    d.wait_for(landed).await;
}

/// Opens every GET page of the router's `area` that `http` (the same principal, over
/// plain HTTP) gets as an HTML page, in the 390 px browser, and names those wider than
/// the window. Returns the paths seen.
pub(crate) async fn walk_area(
    d: &Driver,
    s: &Server,
    http: &crate::common::Browser,
    area: omie_tenant_manager::routes::Area,
    ids: &[(&str, &str)],
    found: &mut Vec<String>,
) -> Vec<String> {
    let mut seen = Vec::new();
    for r in omie_tenant_manager::routes::table() {
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
        // Only pages (no downloads, redirects or JSON): asked over HTTP first.
        let p = http.get(&path).await;
        if p.status != 200 || !p.body.starts_with("<!doctype html") {
            continue;
        }
        d.goto(&s.url(&path)).await;
        d.find("body").await;
        if let Some(why) = d.overflow().await {
            found.push(format!("{path}: {why}"));
        }
        if let Ok(dir) = std::env::var("OTM_SCREENSHOTS") {
            d.screenshot(&dir, &path).await;
        }
        seen.push(path);
    }
    seen
}

/// Issue 12: every page the owner, a company admin and a visitor open fits a phone
/// 390 px wide (the page never scrolls sideways; wide tables scroll in their own box),
/// the menu folds behind "Menu" and opens with a tap, and from the phone the owner
/// approves a sign-up on Usuários and presses "Fazer backup agora".
#[tokio::test]
async fn every_page_fits_a_phone_and_the_owner_approves_and_backs_up_from_it() {
    use omie_tenant_manager::routes::Area;
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria e Confeitaria Pão Quente do Bairro Ltda",
                   "trade_name": "Pão Quente", "cnpj": "11222333000181",
                   "email": "contato.financeiro@padariapaoquentedobairro.com.br"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let company = c["id"].as_str().unwrap().to_string();
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": "Ana Beatriz Figueiredo", "email": "ana@padariapaoquentedobairro.com.br",
                   "role": "company_admin", "password": "farinha fermento forno"}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let ana = u["id"].as_str().unwrap().to_string();
    let (st, a) = api
        .post(
            "/api/v1/applications",
            json!({"name": "Robô de notas fiscais", "description": "Emite NF-e todas as noites"}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let application = a["id"].as_str().unwrap().to_string();
    // A pending sign-up for the owner to approve.
    let r = s
        .browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", "11222333000181"),
                ("name", "Joana Lima"),
                ("email", "joana@padaria.com.br"),
                ("password", "farinha fermento forno"),
                ("password_confirm", "farinha fermento forno"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = [
        ("/companies/{id}", format!("/companies/{company}")),
        ("/applications/{id}", format!("/applications/{application}")),
        ("/users/{id}", format!("/users/{ana}")),
    ];
    let ids: Vec<(&str, &str)> = ids.iter().map(|(a, b)| (*a, b.as_str())).collect();

    let mut found = Vec::new();
    let mut seen = Vec::new();

    // A visitor: the public pages.
    {
        let Some(d) = Driver::start().await else {
            return;
        };
        d.phone().await;
        let http = s.browser();
        seen.extend(walk_area(&d, &s, &http, Area::Public, &ids, &mut found).await);
    }

    // A company admin: the portal.
    {
        let d = Driver::start().await.unwrap();
        d.phone().await;
        sign_in(
            &d,
            &s,
            "ana@padariapaoquentedobairro.com.br",
            "farinha fermento forno",
            "Pão Quente",
        )
        .await;
        let http = s.browser();
        http.login_to(
            "ana@padariapaoquentedobairro.com.br",
            "farinha fermento forno",
            "/portal",
        )
        .await;
        seen.extend(walk_area(&d, &s, &http, Area::Portal, &ids, &mut found).await);
    }

    // The owner: the admin area; then the two things a phone must do.
    let d = Driver::start().await.unwrap();
    d.phone().await;
    sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Visão geral").await;
    let http = s.browser();
    http.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    seen.extend(walk_area(&d, &s, &http, Area::Admin, &ids, &mut found).await);

    for must in [
        "/login",
        "/signup",
        "/portal",
        "/portal/users",
        "/admin",
        "/admin/users",
        "/admin/backups",
        "/admin/audit",
        &format!("/admin/companies/{company}"),
    ] {
        assert!(
            seen.iter().any(|p| p == must),
            "{must} not checked: {seen:?}"
        );
    }
    assert!(
        found.is_empty(),
        "wider than a 390 px phone:\n{}",
        found.join("\n")
    );

    // The menu is folded; a tap opens it and its links lead on.
    d.goto(&s.url("/admin")).await;
    d.wait_for("Visão geral").await;
    let hidden = d
        .script(
            "return !document.querySelector('details.menu').open
                 && !document.querySelector(\"nav a[href='/admin/users']\").checkVisibility();",
        )
        .await;
    assert_eq!(hidden, true, "the menu is folded on a phone");
    d.tap("details.menu > summary").await;
    if let Ok(dir) = std::env::var("OTM_SCREENSHOTS") {
        d.screenshot(&dir, "menu-open").await;
    }
    d.tap("nav a[href='/admin/users']").await;

    // Approving the sign-up from the phone.
    d.wait_for("joana@padaria.com.br").await;
    assert_eq!(d.overflow().await, None);
    let reach = d
        .script(
            "const r = document.querySelector(\"form[action$='/approve'] button\").getBoundingClientRect();
             return r.left >= 0 && r.right <= window.innerWidth && r.height >= 44;",
        )
        .await;
    assert_eq!(reach, true, "Aprovar is on screen, finger-sized");
    let role = d.find("form[action$='/approve'] select[name=role]").await;
    d.cmd(
        reqwest::Method::POST,
        &format!("/element/{role}/value"),
        Some(json!({"text": "Administrador"})),
    )
    .await;
    d.tap("form[action$='/approve'] button").await;
    d.wait_for("Acesso de Joana Lima aprovado").await;
    let (_, users) = api.get(&format!("/api/v1/companies/{company}/users")).await;
    let joana = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "joana@padaria.com.br")
        .unwrap_or_else(|| panic!("{users}"))
        .clone();
    assert_eq!(joana["status"], "active", "{joana}");
    assert_eq!(joana["role"], "company_admin", "{joana}");

    // "Fazer backup agora" from the phone.
    d.goto(&s.url("/admin/backups")).await;
    d.wait_for("Ainda não há nenhum backup válido").await;
    d.tap("form[action='/admin/backups'] button[type=submit]")
        .await;
    d.wait_for("Backup iniciado").await;
    let page = d.wait_for("status-ok").await;
    assert!(page.contains("Concluído"));
    assert_eq!(d.overflow().await, None);
    let backups = std::fs::read_dir(s.dir.path().join("backups"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".age"))
        .count();
    assert_eq!(backups, 1);

    // Widened back to a laptop's 1280 px, the menu shows unfolded, and Usuários fits.
    d.cmd(
        reqwest::Method::POST,
        "/window/rect",
        Some(json!({"width": 1280, "height": 900})),
    )
    .await;
    d.goto(&s.url("/admin/users")).await;
    d.wait_for("joana@padaria.com.br").await;
    let shown = d
        .script("return document.querySelector(\"nav a[href='/admin/users']\").checkVisibility();")
        .await;
    assert_eq!(shown, true, "the menu is unfolded on a wide window");
    assert_eq!(d.overflow().await, None);
}

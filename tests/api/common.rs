//! The test harness: the real binary on a random loopback port with a temporary data
//! dir, and an HTTP client that keeps cookies and does not follow redirects.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_omie-tenant-manager");
pub const OWNER_EMAIL: &str = "dona.maria@example.com.br";
pub const OWNER_PASSWORD: &str = "cavalo bateria grampo";

pub struct Server {
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub setup_token: Option<String>,
    child: Option<Child>,
    env: Vec<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn command(data_dir: &Path, env: &[(String, String)]) -> Command {
    // tempfile makes directories with the umask's mode (0755 under umask 022), and the
    // server refuses a data dir other users can enter: close it, as an installer would.
    if data_dir.is_dir() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OTM_DATA_DIR", data_dir)
        .env("OTM_BCRYPT_COST", "4")
        .env("OTM_LOG", "warn")
        // Suites that are not about the second factor run without its requirement;
        // a test that is passes its own OTM_MFA_REQUIRED (set below, so it wins).
        .env("OTM_MFA_REQUIRED", "none")
        // The suites read mailed links at this fixed address (their server's port is
        // random); a test about the default removes it.
        .env("OTM_BASE_URL", "http://127.0.0.1:8080")
        // The CNPJ look-up never leaves the machine in tests: a closed loopback port
        // (a test about it points it at its own stand-in).
        .env("OTM_CNPJ_LOOKUP_URL", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[(&str, &str)]) -> Server {
        Self::start_in(tempfile::tempdir().unwrap(), extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[(&str, &str)]) -> Server {
        // reqwest is built without a default TLS provider (the app picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut s = Server {
            base: String::new(),
            port: 0,
            dir,
            setup_token: None,
            child: None,
            env,
        };
        s.spawn("127.0.0.1:0");
        s
    }

    /// Starts the binary on `bind` and waits for its "listening on" line.
    fn spawn(&mut self, bind: &str) {
        let mut cmd = command(self.dir.path(), &self.env);
        // The server's log goes to a file the tests can read (and search for secrets).
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        cmd.env("OTM_BIND", bind)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd.spawn().expect("start server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut token = None;
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("server printed nothing");
            if let Some(rest) = line.strip_prefix("setup link: ") {
                token = rest.rsplit('/').next().map(str::to_string);
            }
            if let Some(addr) = line.strip_prefix("listening on http://") {
                self.port = addr.rsplit(':').next().unwrap().parse().unwrap();
                break;
            }
        }
        self.base = format!("http://127.0.0.1:{}", self.port);
        if token.is_some() {
            self.setup_token = token;
        }
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, as systemd stops the service; waits for the exit and returns its code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        // actix installs its signal handlers once its runtime first runs the server,
        // a moment after "listening on"; systemd never stops a service that fast.
        std::thread::sleep(Duration::from_millis(500));
        let status = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(exit) = c.try_wait().unwrap() {
                return exit.code();
            }
            assert!(std::time::Instant::now() < deadline, "did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Changes (or adds) one setting of the environment for the next `restart`.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Starts again on the same port and data dir.
    pub fn restart(&mut self) {
        self.kill9();
        let bind = format!("127.0.0.1:{}", self.port);
        self.spawn(&bind);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("omie-tenant-manager.db")
    }

    /// The one number a query on the server's database answers (a `COUNT(*)`).
    pub fn count(&self, sql: &str) -> i64 {
        rusqlite::Connection::open(self.db_path())
            .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs a CLI command against this server's data dir.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut cmd = command(self.dir.path(), &self.env);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    /// Creates the owner through `admin create`.
    pub fn create_owner(&self) {
        let out = self.cli(
            &[
                "admin",
                "create",
                "--email",
                OWNER_EMAIL,
                "--name",
                "Dona Maria",
                "--password-stdin",
            ],
            Some(&format!("{OWNER_PASSWORD}\n")),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A browser-like client: cookies kept, redirects not followed.
    pub fn browser(&self) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            base: self.base.clone(),
        }
    }

    /// Signs the owner in through the API and returns a bearer token.
    pub async fn token(&self) -> String {
        self.token_of(OWNER_EMAIL, OWNER_PASSWORD).await
    }

    /// Signs `email` in through the API and returns a bearer token.
    pub async fn token_of(&self, email: &str, password: &str) -> String {
        let r = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{email} signs in");
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// An API client signed in as `email`.
    pub async fn api_as(&self, email: &str, password: &str) -> Api {
        self.api(&self.token_of(email, password).await)
    }

    pub fn api(&self, token: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            token: token.to_string(),
        }
    }
}

pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("page has a form token") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        Self::page(r).await
    }

    /// Posts a form the way a browser on our own page does (same-origin headers).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap();
        Self::page(r).await
    }

    async fn page(r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    /// Signs in through the login page; panics unless it lands on `home`.
    pub async fn login_to(&self, email: &str, password: &str, home: &str) {
        let csrf = self.get("/login").await.csrf();
        let r = self
            .post(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some(home), "{}", r.body);
    }

    /// Signs in through the login page; panics unless it lands on the dashboard.
    pub async fn login(&self, email: &str, password: &str) {
        let p = self.get("/login").await;
        let csrf = p.csrf();
        let r = self
            .post(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/admin"));
    }

    /// Fetches `form_page`, then posts `form` with its token to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut fields: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

/// A valid numeric CNPJ built from `n`, for tests that need many distinct ones.
pub fn cnpj_from(n: u64) -> String {
    let base = format!("{:08}0001", n % 100_000_000);
    let digits: Vec<u32> = base.bytes().map(|c| u32::from(c) - 48).collect();
    let dv = |vals: &[u32], weights: &[u32]| {
        let r = vals.iter().zip(weights).map(|(v, w)| v * w).sum::<u32>() % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    let d1 = dv(&digits, &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    let mut with = digits.clone();
    with.push(d1);
    let d2 = dv(&with, &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    format!("{base}{d1}{d2}")
}

//! Issue 12, items 7 and 8: an expired session says so and returns to the page after
//! sign-in (with and without the second factor), never to another site; used or expired
//! mailed links explain themselves; the CNPJ look-up against a loopback stand-in.

use std::time::Duration;

use serde_json::json;

use crate::browser::{Driver, sign_in};
use crate::common::{Browser, OWNER_EMAIL, OWNER_PASSWORD, Page, Server, cnpj_from};

const EXPIRED: &str = "Sua sessão expirou. Entre de novo para continuar.";

/// Posts `form` to `path` the way a browser on `from` does: same origin, with the page as
/// its Referer.
async fn post_from(b: &Browser, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
    let r = b
        .http
        .post(format!("{}{}", b.base, path))
        .header("Origin", &b.base)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Referer", format!("{}{}", b.base, from))
        .form(form)
        .send()
        .await
        .unwrap();
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

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Ends every other session of the owner from a second browser, as "Encerrar as outras
/// sessões" does.
async fn end_from_elsewhere(s: &Server) {
    let other = s.browser();
    other.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = other
        .submit("/admin/profile", "/admin/profile/sessions/end-others", &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn an_expired_post_goes_to_sign_in_writes_nothing_and_comes_back_to_the_form() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let csrf = b.get("/admin/companies/new").await.csrf();
    end_from_elsewhere(&s).await;

    // A page's script asking meanwhile (the CNPJ look-up) gets a 401 and leaves the
    // notice for the page the person opens or posts next.
    let (st, a, _) = lookup_json(&b, "/admin/companies/lookup?cnpj=1").await;
    assert_eq!((st, &a["status"]), (401, &json!("signed_out")), "{a}");

    let cnpj = cnpj_from(4242);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("cnpj", cnpj.as_str()),
        ("legal_name", "Padaria Expirada Ltda"),
    ];
    let r = post_from(&b, "/admin/companies/new", "/admin/companies", &fields).await;
    assert_eq!(
        (r.status, r.location.as_deref()),
        (303, Some("/login?next=%2Fadmin%2Fcompanies%2Fnew")),
        "{}",
        r.body
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM companies"),
        0,
        "nothing written"
    );

    let login = b.get(r.location.as_deref().unwrap()).await;
    assert!(login.body.contains(EXPIRED), "{}", login.body);
    assert!(
        login
            .body
            .contains(r#"name="next" value="/admin/companies/new""#),
        "{}",
        login.body
    );
    // Said once: the cookie that led nowhere is forgotten.
    assert!(!b.get("/login").await.body.contains(EXPIRED));

    let r = b
        .post(
            "/login",
            &[
                ("csrf_token", &login.csrf()),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
                ("next", "/admin/companies/new"),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/companies/new"));
    // The old page's token is refused; the page's new one works.
    let stale = b.post("/admin/companies", &fields).await;
    assert_eq!(stale.status, 403, "{}", stale.body);
    assert_eq!(s.count("SELECT COUNT(*) FROM companies"), 0);
    let again = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &[("cnpj", &cnpj), ("legal_name", "Padaria Expirada Ltda")],
        )
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(s.count("SELECT COUNT(*) FROM companies"), 1);
}

#[tokio::test]
async fn an_expired_page_comes_back_after_the_second_factor_too() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, e) = api.post("/api/v1/me/mfa", json!({})).await;
    assert_eq!(st, 200, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    let t = crate::mfa::settle().await;
    let (st, c) = api
        .post(
            "/api/v1/me/mfa/confirm",
            json!({"otp": crate::mfa::code_at(&secret, t - 30)}),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let recovery = c["recovery_codes"][0].as_str().unwrap().to_string();

    // A browser whose session cookie leads nowhere any more (an ended session).
    let b = s.browser();
    let csrf = b.get("/login").await.csrf();
    let r = b
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login/code"));
    let r = b
        .submit("/login/code", "/login/code", &[("otp", &recovery)])
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin"), "{}", r.body);
    let other = s.browser();
    let csrf = other.get("/login").await.csrf();
    other
        .post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
            ],
        )
        .await;
    let code = c["recovery_codes"][1].as_str().unwrap().to_string();
    other
        .submit("/login/code", "/login/code", &[("otp", &code)])
        .await;
    other
        .submit("/admin/profile", "/admin/profile/sessions/end-others", &[])
        .await;

    let p = b.get("/admin/usage?period=7d").await;
    let next = "/login?next=%2Fadmin%2Fusage%3Fperiod%3D7d";
    assert_eq!((p.status, p.location.as_deref()), (303, Some(next)));
    let login = b.get(next).await;
    assert!(login.body.contains(EXPIRED));
    let r = b
        .post(
            "/login",
            &[
                ("csrf_token", &login.csrf()),
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
                ("next", "/admin/usage?period=7d"),
            ],
        )
        .await;
    let to_code = "/login/code?next=%2Fadmin%2Fusage%3Fperiod%3D7d";
    assert_eq!(r.location.as_deref(), Some(to_code), "{}", r.body);
    let page = b.get(to_code).await;
    assert!(
        page.body
            .contains(r#"name="next" value="/admin/usage?period=7d""#),
        "{}",
        page.body
    );
    let code = c["recovery_codes"][2].as_str().unwrap().to_string();
    let r = b
        .post(
            "/login/code",
            &[
                ("csrf_token", &page.csrf()),
                ("otp", &code),
                ("next", "/admin/usage?period=7d"),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/usage?period=7d"));
    assert_eq!(b.get("/admin/usage?period=7d").await.status, 200);
}

#[tokio::test]
async fn sign_in_never_leads_to_another_site() {
    let s = Server::start();
    s.create_owner();
    for bad in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "/admin//evil.example",
        "/portal",
        "/login",
        "javascript:alert(1)",
    ] {
        let b = s.browser();
        let q = serde_urlencoded::to_string([("next", bad)]).unwrap();
        let login = b.get(&format!("/login?{q}")).await;
        // "/portal" is a page of company staff: kept, but never where the owner lands.
        assert_eq!(
            login.body.contains(r#"name="next""#),
            bad == "/portal",
            "{bad}"
        );
        let r = b
            .post(
                "/login",
                &[
                    ("csrf_token", &login.csrf()),
                    ("email", OWNER_EMAIL),
                    ("password", OWNER_PASSWORD),
                    ("next", bad),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some("/admin"), "{bad}");
    }
    // A post whose Referer is another site is sent to the plain sign-in page.
    let b = s.browser();
    let r = b
        .http
        .post(format!("{}/admin/companies", b.base))
        .header("Sec-Fetch-Site", "same-origin")
        .header("Referer", "https://evil.example/admin/companies/new")
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("location").unwrap().to_str().unwrap(),
        "/login"
    );
}

/// The expired-session return in a real browser: the session is ended from elsewhere,
/// the person types into the form and submits, signs in, lands back on the form with
/// what they typed, submits, and the change is saved.
#[tokio::test]
async fn browser_an_expired_session_keeps_what_was_typed() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let s = Server::start();
    s.create_owner();
    for (i, phone) in [false, true].into_iter().enumerate() {
        if phone {
            d.phone().await;
        } else {
            d.laptop().await;
        }
        sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Você entrou.").await;
        d.goto(&s.url("/admin/companies/new")).await;
        d.wait_for("Cadastrar empresa").await;
        end_from_elsewhere(&s).await;
        let cnpj = cnpj_from(7000 + i as u64);
        let name = format!("Padaria Volta {i} Ltda");
        d.type_into("#cnpj", &cnpj).await;
        d.type_into("#legal_name", &name).await;
        d.type_into("#email", "contato@padaria.com.br").await;
        d.tap("main .actions button[type=submit]").await;
        // The CNPJ look-up's own 401 already shows EXPIRED on the company form, so wait
        // for the sign-in page itself before typing there.
        d.wait_for_url("/login").await;
        d.wait_for(EXPIRED).await;
        d.type_into("#email", OWNER_EMAIL).await;
        d.type_into("#password", OWNER_PASSWORD).await;
        assert_eq!(d.value_of("#email").await, OWNER_EMAIL, "{}", d.url().await);
        assert_eq!(d.value_of("#password").await, OWNER_PASSWORD);
        d.tap("main button[type=submit]").await;
        d.wait_for("Recuperamos o que você tinha digitado").await;
        assert!(d.url().await.ends_with("/admin/companies/new"));
        assert_eq!(d.value_of("#legal_name").await, name);
        assert_eq!(d.value_of("#email").await, "contato@padaria.com.br");
        assert_eq!(digits(&d.value_of("#cnpj").await), digits(&cnpj));
        assert_eq!(d.overflow().await, None);
        d.tap("main .actions button[type=submit]").await;
        d.wait_for(&format!("Empresa {name} cadastrada.")).await;
        assert_eq!(
            s.count(&format!(
                "SELECT COUNT(*) FROM companies WHERE legal_name = '{name}'"
            )),
            1
        );
        // Signing out for the next width.
        end_from_elsewhere(&s).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `n`-th message (from 0) to `to` whose subject contains `subject`.
async fn nth_mail(
    smtp: &crate::smtp::Smtp,
    to: &str,
    subject: &str,
    n: usize,
) -> crate::smtp::Mail {
    for _ in 0..200 {
        let found: Vec<_> = smtp
            .all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to) && m.subject.contains(subject))
            .collect();
        if let Some(m) = found.into_iter().nth(n) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail {n} to {to} about {subject:?}");
}

fn sql(s: &Server, q: &str) {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute_batch(q)
        .unwrap();
}

/// A page of a link that no longer opens: still a 404, but saying what happened and
/// offering the next step.
fn says(p: &Page, text: &str, next: &str) {
    assert_eq!(p.status, 404, "{}", p.body);
    assert!(p.body.contains(text), "{text}: {}", p.body);
    assert!(
        p.body.contains(&format!(r#"href="{next}""#)),
        "{next}: {}",
        p.body
    );
    assert!(!p.body.contains("Página não encontrada"), "{}", p.body);
}

#[tokio::test]
async fn spent_and_expired_mailed_links_say_so_and_offer_the_next_step() {
    use crate::smtp::{Smtp, link, with_smtp};
    const NEW: &str = "outra senha bem comprida";
    let smtp = Smtp::start();
    let s = with_smtp(smtp.port);
    let visitor = s.browser();
    // No owner yet: a setup link that is not the latest printed.
    says(
        &visitor.get("/setup/naoexiste").await,
        "só o último link mostrado ao iniciar o programa funciona",
        "/login",
    );
    s.create_owner();
    says(
        &visitor.get("/setup/naoexiste").await,
        "A conta do proprietário já foi criada",
        "/login",
    );

    let owner = s.browser();
    owner.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    for who in ["usado@example.com.br", "tarde@example.com.br"] {
        let r = owner
            .submit(
                "/admin/users",
                "/admin/invitations",
                &[("email", who), ("role", "staff")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let base = "http://127.0.0.1:8080";
    let used = link(
        &smtp.wait_for("usado@example.com.br", "Convite").await,
        base,
    );
    let late = link(
        &smtp.wait_for("tarde@example.com.br", "Convite").await,
        base,
    );
    let ok = visitor
        .submit(
            &used,
            &used,
            &[
                ("name", "Pessoa Usada"),
                ("password", NEW),
                ("password_confirm", NEW),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    says(
        &visitor.get(&used).await,
        "Este convite já foi usado",
        "/login",
    );
    sql(
        &s,
        "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE email = 'tarde@example.com.br'",
    );
    let p = visitor.get(&late).await;
    says(
        &p,
        "Este convite expirou — peça um novo a quem convidou",
        "/login",
    );
    assert!(!p.body.contains("tarde@example.com.br"), "no address told");
    // Posting to an expired invitation says the same.
    let csrf = visitor.get("/login").await.csrf();
    let r = visitor
        .post(
            &late,
            &[
                ("csrf_token", &csrf),
                ("name", "Tarde"),
                ("password", NEW),
                ("password_confirm", NEW),
            ],
        )
        .await;
    says(&r, "Este convite expirou", "/login");
    says(
        &visitor.get("/invite/naoexisteessetoken").await,
        "Este link de convite não vale mais",
        "/login",
    );

    // Reset links: used, expired, unknown (never saying whose).
    for round in 0..2 {
        visitor
            .submit(
                "/password/forgot",
                "/password/forgot",
                &[("email", "usado@example.com.br")],
            )
            .await;
        let mail = nth_mail(&smtp, "usado@example.com.br", "Troca de senha", round).await;
        let path = link(&mail, base);
        if round == 0 {
            let r = visitor
                .submit(
                    &path,
                    &path,
                    &[("password", NEW), ("password_confirm", NEW)],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.body);
            says(
                &visitor.get(&path).await,
                "Este link já foi usado para trocar a senha",
                "/login",
            );
        } else {
            sql(
                &s,
                "UPDATE password_resets SET expires_at = '2000-01-01T00:00:00.000000Z'",
            );
            let p = visitor.get(&path).await;
            says(&p, "expirou: ele vale uma hora", "/password/forgot");
            assert!(!p.body.contains("usado@example.com.br"));
        }
    }
    says(
        &visitor.get("/password/reset/naoexisteessetoken").await,
        "Este link para trocar a senha não vale mais",
        "/password/forgot",
    );
}

// ---- CNPJ look-up ---------------------------------------------------------------------

/// A loopback stand-in for BrasilAPI's `GET /api/cnpj/v1/{cnpj}`: each CNPJ (digits) gets
/// its behaviour; it counts the requests per CNPJ.
mod cnpj_stub {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Clone)]
    pub enum Reply {
        Company {
            name: String,
            trade: String,
            situation: String,
        },
        NotFound,
        Slow,
        Fails,
        Huge,
    }

    pub struct Stub {
        pub base: String,
        pub hits: Arc<Mutex<HashMap<String, usize>>>,
    }

    impl Stub {
        pub fn hits(&self, cnpj: &str) -> usize {
            *self.hits.lock().unwrap().get(cnpj).unwrap_or(&0)
        }
    }

    pub fn start(replies: &[(&str, Reply)]) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let replies: HashMap<String, Reply> = replies
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let log = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (replies, log) = (replies.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &replies, &log));
            }
        });
        Stub { base, hits }
    }

    fn serve(
        mut stream: std::net::TcpStream,
        replies: &HashMap<String, Reply>,
        log: &Mutex<HashMap<String, usize>>,
    ) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut first = String::new();
        if reader.read_line(&mut first).is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
        let cnpj = path.strip_prefix("/api/cnpj/v1/").unwrap_or("").to_string();
        *log.lock().unwrap().entry(cnpj.clone()).or_insert(0) += 1;
        let (status, body) = match replies.get(&cnpj) {
            Some(Reply::Company {
                name,
                trade,
                situation,
            }) => (
                "200 OK",
                serde_json::json!({
                    "cnpj": cnpj,
                    "razao_social": name,
                    "nome_fantasia": trade,
                    "situacao_cadastral": 2,
                    "descricao_situacao_cadastral": situation,
                    "ddd_telefone_1": "1131234567",
                    "ddd_telefone_2": "",
                    "email": "CONTATO@BOMPAO.COM.BR",
                    "municipio": "SAO PAULO",
                    "uf": "SP",
                    "qsa": []
                })
                .to_string(),
            ),
            Some(Reply::Slow) => {
                std::thread::sleep(Duration::from_secs(8));
                ("200 OK", "{}".to_string())
            }
            Some(Reply::Fails) => ("500 Internal Server Error", "{}".to_string()),
            Some(Reply::Huge) => (
                "200 OK",
                format!(
                    "{{\"razao_social\":\"GRANDE\",\"x\":\"{}\"}}",
                    "a".repeat(200_000)
                ),
            ),
            Some(Reply::NotFound) | None => (
                "404 Not Found",
                r#"{"message":"CNPJ 00000000000000 não encontrado.","type":"service_error","name":"CNPJ_NOT_FOUND"}"#
                    .to_string(),
            ),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

use cnpj_stub::Reply;

fn company(name: &str, trade: &str, situation: &str) -> Reply {
    Reply::Company {
        name: name.into(),
        trade: trade.into(),
        situation: situation.into(),
    }
}

async fn lookup_json(b: &Browser, path: &str) -> (u16, serde_json::Value, Option<String>) {
    let r = b
        .http
        .get(format!("{}{}", b.base, path))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.json().await.unwrap(), retry)
}

#[tokio::test]
async fn cnpj_lookup_fills_the_company_form_and_tells_a_non_active_situation() {
    let (active, closed, missing) = (cnpj_from(1111), cnpj_from(2222), cnpj_from(3333));
    let stub = cnpj_stub::start(&[
        (&active, company("PADARIA BOM PAO LTDA", "BOM PAO", "ATIVA")),
        (&closed, company("MERCADO FECHADO LTDA", "", "BAIXADA")),
        (&missing, Reply::NotFound),
    ]);
    let s = Server::start_with(&[("OTM_CNPJ_LOOKUP_URL", stub.base.as_str())]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    let (st, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={active}")).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["status"], "found");
    assert_eq!(a["legal_name"], "PADARIA BOM PAO LTDA");
    assert_eq!(a["trade_name"], "BOM PAO");
    assert_eq!(a["email"], "contato@bompao.com.br");
    assert_eq!(a["phone"], "(11) 3123-4567");
    assert!(!a["messages"].to_string().contains("Situação na Receita"));
    // Kept for a while: asking again costs the service nothing.
    lookup_json(&b, &format!("/admin/companies/lookup?cnpj={active}")).await;
    assert_eq!(stub.hits(&active), 1);

    let (_, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={closed}")).await;
    assert_eq!(a["status"], "found");
    assert!(
        a["messages"]
            .to_string()
            .contains("Situação na Receita: BAIXADA"),
        "{a}"
    );
    let (_, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={missing}")).await;
    assert_eq!(a["status"], "not_found");
    assert!(a["messages"].to_string().contains("não foi encontrado"));
    let (st, a, _) = lookup_json(&b, "/admin/companies/lookup?cnpj=11.111.111/1111-11").await;
    assert_eq!((st, &a["status"]), (400, &json!("invalid")));
    assert_eq!(
        stub.hits("11111111111111"),
        0,
        "an invalid CNPJ is never asked"
    );

    // Without JavaScript: "Buscar dados do CNPJ" fills the form and saves nothing.
    let form = b.get("/admin/companies/new").await;
    assert!(form.body.contains("Buscar dados do CNPJ"));
    let p = b
        .post(
            "/admin/companies",
            &[
                ("csrf_token", &form.csrf()),
                ("cnpj", &closed),
                ("legal_name", ""),
                ("email", "meu@contato.com.br"),
                ("lookup", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(r#"value="MERCADO FECHADO LTDA""#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"value="meu@contato.com.br""#),
        "typed values stay"
    );
    assert!(p.body.contains("(11) 3123-4567"));
    assert!(p.body.contains("Situação na Receita: BAIXADA"));
    assert_eq!(s.count("SELECT COUNT(*) FROM companies"), 0);
    // Then saved as filled.
    let r = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &[("cnpj", &closed), ("legal_name", "MERCADO FECHADO LTDA")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn cnpj_lookup_down_slow_or_broken_leaves_the_form_to_be_filled_by_hand() {
    let (slow, broken, huge) = (cnpj_from(4444), cnpj_from(5555), cnpj_from(6666));
    let stub = cnpj_stub::start(&[
        (&slow, Reply::Slow),
        (&broken, Reply::Fails),
        (&huge, Reply::Huge),
    ]);
    let s = Server::start_with(&[("OTM_CNPJ_LOOKUP_URL", stub.base.as_str())]);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let by_hand = "Não foi possível consultar o CNPJ agora; preencha os dados à mão.";
    for cnpj in [&slow, &broken, &huge] {
        let (st, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={cnpj}")).await;
        assert_eq!((st, &a["status"]), (200, &json!("unavailable")), "{cnpj}");
        assert!(a["messages"].to_string().contains(by_hand), "{a}");
    }
    // Without JavaScript, the same words, and the form saves as typed.
    let form = b.get("/admin/companies/new").await;
    let p = b
        .post(
            "/admin/companies",
            &[
                ("csrf_token", &form.csrf()),
                ("cnpj", &broken),
                ("legal_name", "Feita à Mão Ltda"),
                ("lookup", "1"),
            ],
        )
        .await;
    assert!(p.body.contains(by_hand), "{}", p.body);
    assert!(p.body.contains(r#"value="Feita à Mão Ltda""#));
    let r = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &[("cnpj", &broken), ("legal_name", "Feita à Mão Ltda")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // A service that is not there at all (the harness's closed port).
    let down = Server::start();
    down.create_owner();
    let b = down.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let (_, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={slow}")).await;
    assert_eq!(a["status"], "unavailable");

    // Turned off: no button, and the route says so.
    let off = Server::start_with(&[("OTM_CNPJ_LOOKUP_URL", "off")]);
    off.create_owner();
    let b = off.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(
        !b.get("/admin/companies/new")
            .await
            .body
            .contains("Buscar dados do CNPJ")
    );
    let (_, a, _) = lookup_json(&b, &format!("/admin/companies/lookup?cnpj={slow}")).await;
    assert_eq!(a["status"], "off");
}

#[tokio::test]
async fn signup_lookup_shows_the_company_and_is_limited_per_address() {
    let (active, closed) = (cnpj_from(7777), cnpj_from(8888));
    let stub = cnpj_stub::start(&[
        (&active, company("PADARIA BOM PAO LTDA", "BOM PAO", "ATIVA")),
        (&closed, company("MERCADO FECHADO LTDA", "", "BAIXADA")),
    ]);
    let s = Server::start_with(&[("OTM_CNPJ_LOOKUP_URL", stub.base.as_str())]);
    let visitor = s.browser();
    let (st, a, _) = lookup_json(&visitor, &format!("/signup/lookup?cnpj={active}")).await;
    assert_eq!(st, 200, "{a}");
    assert!(
        a["messages"]
            .to_string()
            .contains("Empresa: PADARIA BOM PAO LTDA (BOM PAO)"),
        "{a}"
    );
    let (st, a, _) = lookup_json(&visitor, "/signup/lookup?cnpj=123").await;
    assert_eq!((st, &a["status"]), (400, &json!("invalid")));

    // Without JavaScript: the company's name and situação, nothing asked, no password back.
    let form = visitor.get("/signup").await;
    let p = visitor
        .post(
            "/signup",
            &[
                ("csrf_token", &form.csrf()),
                ("cnpj", &closed),
                ("name", "Joana Lima"),
                ("email", "joana@example.com.br"),
                ("password", "uma senha longa e boa"),
                ("password_confirm", "uma senha longa e boa"),
                ("lookup", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("Empresa: MERCADO FECHADO LTDA"),
        "{}",
        p.body
    );
    assert!(p.body.contains("Situação na Receita: BAIXADA"));
    assert!(p.body.contains(r#"value="Joana Lima""#));
    assert!(!p.body.contains("uma senha longa e boa"));
    assert_eq!(s.count("SELECT COUNT(*) FROM users"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM company_requests"), 0);

    // Ten look-ups per address per ten minutes (three spent above), then 429.
    for _ in 0..7 {
        let (st, _, _) = lookup_json(&visitor, &format!("/signup/lookup?cnpj={active}")).await;
        assert_eq!(st, 200);
    }
    let (st, a, retry) = lookup_json(&visitor, &format!("/signup/lookup?cnpj={active}")).await;
    assert_eq!((st, &a["status"]), (429, &json!("throttled")), "{a}");
    assert!(retry.is_some());
    assert!(
        a["messages"]
            .to_string()
            .contains("preencha os dados à mão")
    );
    assert_eq!(stub.hits(&active), 1, "the rest came from the cache");
}

/// In a real browser: typing a CNPJ on *Cadastrar empresa* fills the empty fields from
/// the stand-in, and says the situação when it is not active.
#[tokio::test]
async fn browser_typing_a_cnpj_fills_the_company_form() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let closed = cnpj_from(9191);
    let stub = cnpj_stub::start(&[(
        &closed,
        company("MERCADO FECHADO LTDA", "FECHADO", "BAIXADA"),
    )]);
    let s = Server::start_with(&[("OTM_CNPJ_LOOKUP_URL", stub.base.as_str())]);
    s.create_owner();
    for phone in [false, true] {
        if phone {
            d.phone().await;
        } else {
            d.laptop().await;
        }
        sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Você entrou.").await;
        d.goto(&s.url("/admin/companies/new")).await;
        d.wait_for("Cadastrar empresa").await;
        d.type_into("#cnpj", &closed).await;
        d.wait_for("Situação na Receita: BAIXADA").await;
        assert_eq!(d.value_of("#legal_name").await, "MERCADO FECHADO LTDA");
        assert_eq!(d.value_of("#trade_name").await, "FECHADO");
        assert_eq!(d.value_of("#phone").await, "(11) 3123-4567");
        assert_eq!(d.overflow().await, None);
        end_from_elsewhere(&s).await;
    }
}

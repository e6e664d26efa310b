//! Omie credentials: sealed at rest, masked, revealed only on purpose, tested against a
//! loopback stand-in for Omie, and re-sealed by `key rotate`.

use reqwest::Method;
use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};
use crate::omie_stub;

const APP_KEY: &str = "1724630275368";
const APP_SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";
const OTHER_KEY: &str = "1560731700";
const OTHER_SECRET: &str = "fed2aa00bb11cc22dd33ee44ff556677";

fn server(stub: &omie_stub::OmieStub) -> Server {
    Server::start_with(&[
        ("OTM_OMIE_BASE_URL", stub.base.as_str()),
        ("OTM_LOG", "debug"),
    ])
}

async fn company(s: &Server, cnpj: &str) -> String {
    let api = s.api(&s.token().await);
    let (_, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Oficina Aurora Ltda", "cnpj": cnpj}),
        )
        .await;
    c["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn credentials_on_the_dashboard_are_sealed_masked_tested_and_revealed_on_purpose() {
    let stub = omie_stub::start(&[(APP_KEY, "11222333000181"), (OTHER_KEY, "00000000000191")]);
    let s = server(&stub);
    s.create_owner();
    let cid = company(&s, "11222333000181").await;
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let page = format!("/admin/companies/{cid}/omie");

    let bad = b
        .submit(
            &page,
            &page,
            &[("app_key", "12ab"), ("app_secret", "não-é-hex")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("só números") && bad.body.contains("letras (a–f)"));
    assert!(
        !bad.body.contains("não-é-hex"),
        "the secret is never echoed"
    );

    let ok = b
        .submit(
            &page,
            &page,
            &[("app_key", APP_KEY), ("app_secret", APP_SECRET)],
        )
        .await;
    assert_eq!(ok.status, 303);
    let shown = b.get(&page).await.body;
    assert!(
        shown.contains("5368") && !shown.contains(APP_KEY) && !shown.contains(APP_SECRET),
        "masked"
    );

    let tested = b.submit(&page, &format!("{page}/test"), &[]).await;
    assert_eq!(tested.status, 303);
    let after = b.get(&page).await.body;
    assert!(after.contains("CNPJ confere"), "{after}");
    let sent = stub.requests.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1["app_key"], APP_KEY);
    assert_eq!(sent[0].1["app_secret"], APP_SECRET);
    assert_eq!(sent[0].1["call"], "ListarEmpresas");

    // Within 60 seconds the same keys are not sent to Omie again.
    b.submit(&page, &format!("{page}/test"), &[]).await;
    assert!(b.get(&page).await.body.contains("menos de 1 minuto"));
    assert_eq!(stub.requests.lock().unwrap().len(), 1);

    // Keys from another company's Omie account: a warning.
    b.submit(
        &page,
        &page,
        &[("app_key", OTHER_KEY), ("app_secret", OTHER_SECRET)],
    )
    .await;
    b.submit(&page, &format!("{page}/test"), &[]).await;
    let warned = b.get(&page).await.body;
    assert!(
        warned.contains("ATENÇÃO") && warned.contains("00.000.000/0001-91"),
        "{warned}"
    );
    // Wrong keys: Omie's refusal, in Portuguese.
    b.submit(
        &page,
        &page,
        &[("app_key", "999999999999"), ("app_secret", APP_SECRET)],
    )
    .await;
    b.submit(&page, &format!("{page}/test"), &[]).await;
    assert!(
        b.get(&page)
            .await
            .body
            .contains("O Omie recusou as credenciais")
    );

    // Revealing is deliberate and audited.
    b.submit(
        &page,
        &page,
        &[("app_key", APP_KEY), ("app_secret", APP_SECRET)],
    )
    .await;
    let revealed = b.submit(&page, &format!("{page}/reveal"), &[]).await;
    assert!(revealed.body.contains(APP_SECRET));
    let audit = b.get(&format!("/admin/audit?company_id={cid}")).await.body;
    assert!(audit.contains(r#"data-action="omie_credentials.reveal""#));
    assert!(audit.contains(r#"data-action="omie_credentials.test""#));
    assert!(!audit.contains(APP_SECRET), "no secret in the audit trail");
    assert!(
        b.get(&page).await.body.contains("Trocas anteriores"),
        "rotation history"
    );

    // The clear secret is nowhere at rest: not in the database, its WAL, or the log.
    for file in [
        "omie-tenant-manager.db",
        "omie-tenant-manager.db-wal",
        "server.log",
    ] {
        let path = s.dir.path().join(file);
        if let Ok(bytes) = std::fs::read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(APP_SECRET) && !text.contains(OTHER_SECRET),
                "secret found in {file}"
            );
            assert!(!text.contains(APP_KEY), "app key found in {file}");
        }
    }
    let log = std::fs::read_to_string(s.log_path()).unwrap();
    assert!(
        log.contains("DEBUG") || log.contains("INFO"),
        "the log was written"
    );
}

#[tokio::test]
async fn credentials_through_the_api_and_key_rotation_while_running() {
    let stub = omie_stub::start(&[(APP_KEY, "11222333000181")]);
    let s = server(&stub);
    s.create_owner();
    let cid = company(&s, "11222333000181").await;
    let api = s.api(&s.token().await);
    let path = format!("/api/v1/companies/{cid}/omie-credentials");
    assert_eq!(api.get(&path).await.0, 404, "none yet");
    let (st, p) = api
        .send(
            Method::PUT,
            &path,
            Some(json!({"app_key": "abc", "app_secret": "x"})),
        )
        .await;
    assert_eq!(st, 422);
    assert_eq!(p["errors"].as_array().unwrap().len(), 2);
    let (st, v) = api
        .send(
            Method::PUT,
            &path,
            Some(json!({"app_key": APP_KEY, "app_secret": APP_SECRET})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_ne!(v["app_secret"], APP_SECRET);
    let (_, masked) = api.get(&path).await;
    assert!(
        masked["app_key"].as_str().unwrap().ends_with("5368") && masked["app_secret"] != APP_SECRET
    );
    let (_, clear) = api.get(&format!("{path}?reveal=true")).await;
    assert_eq!(
        (clear["app_key"].as_str(), clear["app_secret"].as_str()),
        (Some(APP_KEY), Some(APP_SECRET))
    );
    let (st, t) = api.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(st, 200);
    assert_eq!(
        (t["ok"].as_bool(), t["cnpj_matches"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(t["checked_at"].as_str().unwrap().ends_with('Z'));
    let (_, after) = api.get(&path).await;
    assert_eq!(after["validation_status"], "ok");

    // Rotate the master key while the server runs: it keeps reading the secrets.
    let out = s.cli(&["key", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("key 2"));
    let key_file = std::fs::read_to_string(s.dir.path().join("master.key")).unwrap();
    assert_eq!(key_file.lines().count(), 2);
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let sealed: String = db
        .query_row("SELECT app_secret_sealed FROM omie_credentials", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(sealed.starts_with("v1.2."), "{sealed}");
    let (_, still) = api.get(&format!("{path}?reveal=true")).await;
    assert_eq!(
        still["app_secret"], APP_SECRET,
        "the running server reads the re-sealed secret"
    );
    let verify = s.cli(&["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // And so does a restarted one; a new value is sealed with the new key.
    let mut s = s;
    s.restart();
    let api = s.api(&s.token().await);
    assert_eq!(
        api.get(&format!("{path}?reveal=true")).await.1["app_secret"],
        APP_SECRET
    );
    api.send(
        Method::PUT,
        &path,
        Some(json!({"app_key": APP_KEY, "app_secret": APP_SECRET})),
    )
    .await;
    let sealed: String = db
        .query_row("SELECT app_secret_sealed FROM omie_credentials", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(sealed.starts_with("v1.2."));
}

//! Issue 10, applications: a token carries only the scopes granted at issue and every
//! check is token scope ∩ link scope; refused calls on made-up ids cannot poison the
//! usage reports; CSV cells cannot start a formula; Omie's redirects are never followed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server, cnpj_from};
use crate::omie_stub;

const SCOPES: [&str; 3] = ["companies:read", "omie_credentials:read", "omie:proxy"];

/// Every non-empty subset of the three scopes, as scope lists.
fn subsets() -> Vec<Vec<&'static str>> {
    (1u8..8)
        .map(|m| {
            SCOPES
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .map(|(_, s)| *s)
                .collect()
        })
        .collect()
}

async fn grant(s: &Server, client_id: &str, secret: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// An application: (id, client_id, client_secret).
async fn new_app(owner: &Api, name: &str) -> (String, String, String) {
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": name}))
        .await;
    assert_eq!(st, 201, "{app}");
    let f = |k: &str| app[k].as_str().unwrap().to_string();
    (f("id"), f("client_id"), f("client_secret"))
}

async fn new_company(owner: &Api, n: u64, trade_name: &str) -> String {
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": format!("Empresa {n} Ltda"), "trade_name": trade_name,
                   "cnpj": cnpj_from(n)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn key_of(n: u64) -> String {
    format!("17246302{n:05}")
}

const SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";

#[tokio::test]
async fn the_token_endpoint_grants_what_was_asked_within_the_known_scopes() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, cid, secret) = new_app(&owner, "Robô").await;
    let (st, v) = grant(&s, &cid, &secret, None).await;
    assert_eq!(
        (st, v["scope"].as_str()),
        (200, Some("companies:read omie_credentials:read omie:proxy")),
        "no scope asked: every scope of the application"
    );
    let (st, v) = grant(
        &s,
        &cid,
        &secret,
        Some("omie:proxy  companies:read omie:proxy"),
    )
    .await;
    assert_eq!(
        (st, v["scope"].as_str()),
        (200, Some("companies:read omie:proxy")),
        "the scope answered is the scope granted, each once"
    );
    let (st, v) = grant(&s, &cid, &secret, Some("companies:read admin")).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("invalid_scope")),
        "{v}"
    );
    // What is stored with the token is what was granted.
    let (_, v) = grant(&s, &cid, &secret, Some("companies:read")).await;
    assert_eq!(v["scope"], "companies:read");
    let stored: Vec<String> = {
        let conn = rusqlite::Connection::open(s.db_path()).unwrap();
        let mut st = conn
            .prepare("SELECT scope FROM app_tokens ORDER BY created_at, rowid")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(stored.last().map(String::as_str), Some("companies:read"));
}

/// Every token scope × every link scope, for the three scopes: a check passes only when
/// both grant it; a linked company refused for scope is 403, an unlinked one 404.
#[tokio::test]
async fn every_check_uses_token_scope_and_link_scope() {
    let subsets = subsets();
    let accounts: Vec<(String, String)> = (0..subsets.len() as u64)
        .map(|i| (key_of(i), cnpj_from(500 + i)))
        .collect();
    let refs: Vec<(&str, &str)> = accounts
        .iter()
        .map(|(k, c)| (k.as_str(), c.as_str()))
        .collect();
    let stub = omie_stub::start(&refs);
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", stub.base.as_str())]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (app_id, client_id, secret) = new_app(&owner, "Robô").await;
    // One company per link scope, each with Omie keys; and one not linked at all.
    let mut companies = Vec::new();
    for (i, link) in subsets.iter().enumerate() {
        let cid = new_company(&owner, 500 + i as u64, &format!("Loja {i}")).await;
        let (st, v) = owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{cid}/omie-credentials"),
                Some(json!({"app_key": key_of(i as u64), "app_secret": SECRET})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{cid}/applications/{app_id}"),
                Some(json!({ "scopes": link })),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        companies.push((cid, link.clone()));
    }
    let unlinked = new_company(&owner, 599, "Outra").await;

    let mut checked = 0;
    for token_scope in &subsets {
        let asked = token_scope.join(" ");
        let (st, v) = grant(&s, &client_id, &secret, Some(&asked)).await;
        assert_eq!((st, v["scope"].as_str()), (200, Some(asked.as_str())));
        let api = s.api(v["access_token"].as_str().unwrap());
        let (st, list) = api.get("/api/v1/companies").await;
        assert_eq!(st, 200);
        let listed: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        for (cid, link) in &companies {
            let both = |scope: &str| token_scope.contains(&scope) && link.contains(&scope);
            let want = |scope: &str| if both(scope) { 200 } else { 403 };
            let ctx = format!("token [{asked}] × link [{}]", link.join(" "));
            let (st, _) = api.get(&format!("/api/v1/companies/{cid}")).await;
            assert_eq!(st, want("companies:read"), "company read, {ctx}");
            let (st, creds) = api
                .get(&format!("/api/v1/companies/{cid}/omie-credentials"))
                .await;
            assert_eq!(st, want("omie_credentials:read"), "credentials, {ctx}");
            if st == 200 {
                assert_eq!(creds["app_secret"], SECRET);
            } else {
                assert!(creds.get("app_secret").is_none(), "{ctx}: {creds}");
            }
            let (st, _) = api
                .post(
                    &format!("/api/v1/companies/{cid}/omie/geral/clientes"),
                    json!({"call": "ListarClientes", "param": [{"t": asked}]}),
                )
                .await;
            assert_eq!(st, want("omie:proxy"), "proxy, {ctx}");
            assert_eq!(
                listed.contains(&cid.as_str()),
                both("companies:read"),
                "company list, {ctx}"
            );
            checked += 1;
        }
        for path in [
            format!("/api/v1/companies/{unlinked}"),
            format!("/api/v1/companies/{unlinked}/omie-credentials"),
        ] {
            assert_eq!(api.get(&path).await.0, 404, "{path}, token [{asked}]");
        }
        let (st, _) = api
            .post(
                &format!("/api/v1/companies/{unlinked}/omie/geral/clientes"),
                json!({"call": "ListarClientes", "param": [{}]}),
            )
            .await;
        assert_eq!(st, 404);
        assert!(!listed.contains(&unlinked.as_str()));
    }
    assert_eq!(checked, 49);
    // Only the calls both scopes allowed reached Omie: one per token with omie:proxy
    // on each link with it (4 × 4).
    assert_eq!(stub.requests.lock().unwrap().len(), 16);
}

/// Omie answering 307 or 308 towards another host: the proxy answers 502 problem+json,
/// "Testar credenciais" (API and page) answers a failure, and the other host hears
/// nothing, so the company's keys never leave `OTM_OMIE_BASE_URL`.
#[tokio::test]
async fn redirects_from_omie_are_never_followed() {
    for status in [307u16, 308] {
        let elsewhere = omie_stub::start(&[(&key_of(1), "11222333000181")]);
        let stub = omie_stub::start_redirecting(status, &elsewhere.base);
        let s = Server::start_with(&[("OTM_OMIE_BASE_URL", stub.base.as_str())]);
        s.create_owner();
        let owner = s.api(&s.token().await);
        let cid = new_company(&owner, 1, "Loja").await;
        owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{cid}/omie-credentials"),
                Some(json!({"app_key": key_of(1), "app_secret": SECRET})),
            )
            .await;
        let (app_id, client_id, secret) = new_app(&owner, "Robô").await;
        owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{cid}/applications/{app_id}"),
                Some(json!({"scopes": SCOPES})),
            )
            .await;
        let (_, t) = grant(&s, &client_id, &secret, None).await;
        let api = s.api(t["access_token"].as_str().unwrap());

        let r = reqwest::Client::new()
            .post(s.url(&format!("/api/v1/companies/{cid}/omie/geral/clientes")))
            .bearer_auth(&api.token)
            .json(&json!({"call": "ListarClientes", "param": [{}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 502, "HTTP {status}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "HTTP {status}"
        );
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("redirect"),
            "{problem}"
        );

        let (st, v) = owner
            .post(
                &format!("/api/v1/companies/{cid}/omie-credentials/test"),
                json!({}),
            )
            .await;
        assert_eq!((st, &v["ok"]), (200, &json!(false)), "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("outro endereço"),
            "{v}"
        );

        let b = s.browser();
        b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
            .await;
        let page = b.get(&format!("/admin/companies/{cid}/omie")).await;
        let after = b
            .submit(
                &format!("/admin/companies/{cid}/omie"),
                &format!("/admin/companies/{cid}/omie/test"),
                &[],
            )
            .await;
        assert!(page.status == 200, "{}", page.body);
        let shown = b.get(&format!("/admin/companies/{cid}/omie")).await.body;
        assert!(
            after.body.contains("outro endereço") || shown.contains("outro endereço"),
            "{}\n{shown}",
            after.body
        );

        assert_eq!(
            stub.requests.lock().unwrap().len(),
            2,
            "Omie's address got the proxy call and the API test (the page's test is cached)"
        );
        assert!(
            elsewhere.requests.lock().unwrap().is_empty(),
            "HTTP {status}: the keys went to the redirect's host"
        );
    }
}

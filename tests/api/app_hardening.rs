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

/// The usage report's rows, as the owner gets them from the API.
async fn usage_items(owner: &Api) -> Vec<Value> {
    let (st, v) = owner.get("/api/v1/reports/usage").await;
    assert_eq!(st, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// An application linked to nothing calls with a formula for a company id, and with a
/// real company that is not its own: no usage row names either id, one refusal counter
/// counts them all, and the page, the CSVs and the API never show the made-up id.
#[tokio::test]
async fn refused_calls_on_ids_not_its_own_never_reach_the_reports() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let other = new_company(&owner, 7, "Loja de outra").await;
    let (app_id, client_id, secret) = new_app(&owner, "Robô sem vínculos").await;
    let (_, t) = grant(&s, &client_id, &secret, None).await;
    let api = s.api(t["access_token"].as_str().unwrap());
    let made_up = "=HYPERLINK(%22http:%2F%2Fx%22)";
    let mut calls = 0;
    for id in [made_up, other.as_str()] {
        for _ in 0..5 {
            for path in [
                format!("/api/v1/companies/{id}/omie-credentials"),
                format!("/api/v1/companies/{id}"),
            ] {
                assert_eq!(api.get(&path).await.0, 404, "{path}");
                calls += 1;
            }
            let (st, _) = api
                .post(
                    &format!("/api/v1/companies/{id}/omie/geral/clientes"),
                    json!({"call": "ListarClientes", "param": [{}]}),
                )
                .await;
            assert_eq!(st, 404);
            calls += 1;
        }
    }
    // Besides the token issued (a call about no company, issue 12), one refusal
    // counter and nothing else.
    let items: Vec<Value> = usage_items(&owner)
        .await
        .into_iter()
        .filter(|r| r["operation"] != "auth.token")
        .collect();
    assert_eq!(
        items.len(),
        1,
        "one refusal counter and nothing else: {items:?}"
    );
    assert_eq!(
        items[0],
        json!({"date": items[0]["date"], "company_id": null, "application_id": app_id,
               "operation": "refused", "count": calls})
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM api_usage"), 0);
    // Filtering by a company leaves the counter out: it belongs to none.
    let (_, by_company) = owner
        .get(&format!("/api/v1/reports/usage?company_id={other}"))
        .await;
    assert_eq!(by_company["items"], json!([]));

    let csv = reqwest::Client::new()
        .get(s.url("/api/v1/reports/usage?format=csv"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = b.get("/admin/usage").await.body;
    let page_csv = b.get("/admin/usage.csv").await.body;
    for text in [&csv, &page, &page_csv] {
        assert!(
            !text.contains("HYPERLINK") && !text.contains(&other),
            "{text}"
        );
    }
    assert!(page.contains("Fora das empresas da aplicação"), "{page}");
    assert!(
        page.contains("Robô sem vínculos"),
        "the application by name: {page}"
    );
    assert_eq!(
        csv.lines().count(),
        3,
        "a header, the refusals, the token: {csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains(&format!(",{app_id},refused,{calls},,Robô sem vínculos"))),
        "{csv}"
    );
}

/// A company and an application whose names start a formula, in the CSVs the product
/// writes: the API's usage CSV and the dashboard's download (the portal's download is
/// the same function).
#[tokio::test]
async fn csv_cells_never_start_a_formula() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let name = "=HYPERLINK(\"http://x\",\"y\")";
    let cid = new_company(&owner, 9, name).await;
    let (app_id, client_id, secret) = new_app(&owner, "@Robô -1 +1").await;
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    let (_, t) = grant(&s, &client_id, &secret, None).await;
    let api = s.api(t["access_token"].as_str().unwrap());
    assert_eq!(api.get(&format!("/api/v1/companies/{cid}")).await.0, 200);

    let csv = reqwest::Client::new()
        .get(s.url("/api/v1/reports/usage?format=csv"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page_csv = b.get("/admin/usage.csv").await.body;
    assert!(
        csv.starts_with(
            "date,company_id,application_id,operation,count,company_name,application_name\n"
        ),
        "{csv}"
    );
    let line = csv.lines().find(|l| l.contains("companies.read")).unwrap();
    assert!(
        line.ends_with(
            ",companies.read,1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'@Robô -1 +1"
        ),
        "{line}"
    );
    // The page's download is for people (issue 12): `;`, a BOM, Portuguese headers.
    assert!(
        page_csv.starts_with("\u{feff}Dia;Empresa;Aplicação;Operação;Chamadas\r\n"),
        "{page_csv}"
    );
    let people_line = page_csv
        .lines()
        .find(|l| l.contains("Leitura de uma empresa"))
        .unwrap();
    assert!(
        people_line.ends_with(
            ";\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\";'@Robô -1 +1;Leitura de uma empresa;1"
        ),
        "{people_line}"
    );
    for (line, sep) in [(line, ','), (people_line, ';')] {
        // No cell, quoted or not, starts with a formula character.
        for cell in split_csv_on(line, sep) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {line}"
            );
        }
    }
}

/// The cells of one CSV line (RFC 4180, no line breaks inside) split on `sep`.
fn split_csv_on(line: &str, sep: char) -> Vec<String> {
    let (mut cells, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if cur.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (c, false) if c == sep => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// 2,000 refused calls, each with a different made-up id, leave one usage row: the
/// page, the API and the table stay the same size whatever the ids.
#[tokio::test]
async fn two_thousand_made_up_ids_leave_one_row() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, client_id, secret) = new_app(&owner, "Robô").await;
    let (_, t) = grant(&s, &client_id, &secret, None).await;
    let token = t["access_token"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (http, token, url) = (http.clone(), token.clone(), s.url("/api/v1/companies/"));
        tasks.push(tokio::spawn(async move {
            for i in 0..250 {
                let r = http
                    .get(format!(
                        "{url}cmp_inventada_{worker}_{i}_{}",
                        "x".repeat(200)
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 404);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let items = usage_items(&owner).await;
    assert_eq!(
        items.len(),
        2,
        "the refusals and the token issued: {items:?}"
    );
    assert!(
        items
            .iter()
            .any(|r| r["operation"] == "refused" && r["count"] == 2000),
        "{items:?}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM api_usage"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM api_refusals"), 1);
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = b.get("/admin/usage").await.body;
    let rows = page.split("id=\"usage-rows\"").nth(1).unwrap_or_default();
    assert_eq!(
        rows.split("</table>")
            .next()
            .unwrap_or_default()
            .matches("<tr>")
            .count(),
        3,
        "a header and two rows (the refusals, the token): {page}"
    );
    assert!(!page.contains("cmp_inventada"));
}

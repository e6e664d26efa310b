//! The Omie proxy against the loopback stand-in: keys injected, scope enforced, limits
//! kept under a burst, identical reads cached, faults passed back, blocked keys left alone.

use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server};
use crate::omie_stub;

pub(crate) const KEY: &str = "1724630275368";
pub(crate) const SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";

/// A company named `legal_name` with Omie keys at a stand-in, and an application linked
/// to it with `scopes`: (stand-in, server, company id, application id, the owner's
/// client, the application's client).
pub(crate) async fn linked_app(
    env: &[(&str, &str)],
    legal_name: &str,
    scopes: &[&str],
) -> (omie_stub::OmieStub, Server, String, String, Api, Api) {
    let stub = omie_stub::start(&[(KEY, "11222333000181")]);
    let mut env = env.to_vec();
    env.push(("OTM_OMIE_BASE_URL", stub.base.as_str()));
    let s = Server::start_with(&env);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let (_, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": legal_name, "cnpj": "11222333000181"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/omie-credentials"),
            Some(json!({"app_key": KEY, "app_secret": SECRET})),
        )
        .await;
    let (_, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô"}))
        .await;
    let app_id = app["id"].as_str().unwrap().to_string();
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/applications/{app_id}"),
            Some(json!({"scopes": scopes})),
        )
        .await;
    let r: Value = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = s.api(r["access_token"].as_str().unwrap());
    (stub, s, cid, app_id, owner, api)
}

async fn setup() -> (omie_stub::OmieStub, Server, String, crate::common::Api) {
    let (stub, s, cid, app_id, owner, api) =
        linked_app(&[], "Empresa A Ltda", &["companies:read"]).await;
    // Without omie:proxy the proxy is refused.
    let (st, _) = api
        .post(
            &format!("/api/v1/companies/{cid}/omie/geral/clientes"),
            json!({"call": "ListarClientes", "param": [{}]}),
        )
        .await;
    assert_eq!(st, 403);
    owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read", "omie:proxy"]})),
        )
        .await;
    (stub, s, cid, api)
}

#[tokio::test]
async fn calls_carry_the_company_keys_and_identical_reads_are_cached() {
    let (stub, _s, cid, api) = setup().await;
    let path = format!("/api/v1/companies/{cid}/omie/geral/clientes");
    let (st, v) = api
        .post(
            &path,
            json!({"call": "ListarClientes", "param": [{"pagina": 1}]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["call"], "ListarClientes");
    let sent = stub.requests.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].0.as_str(),
            sent[0].1["app_key"].as_str(),
            sent[0].1["app_secret"].as_str()
        ),
        ("/api/v1/geral/clientes/", Some(KEY), Some(SECRET))
    );
    // The same read within 60 s comes from the cache; another page does not.
    let (st, again) = api
        .post(
            &path,
            json!({"call": "ListarClientes", "param": [{"pagina": 1}]}),
        )
        .await;
    assert_eq!((st, again), (200, v));
    assert_eq!(stub.requests.lock().unwrap().len(), 1);
    api.post(
        &path,
        json!({"call": "ListarClientes", "param": [{"pagina": 2}]}),
    )
    .await;
    assert_eq!(stub.requests.lock().unwrap().len(), 2);
    // Omie's faults come back as they are.
    let (st, f) = api
        .post(
            &path,
            json!({"call": "ConsultarInexistente", "param": [{}]}),
        )
        .await;
    assert_eq!(st, 500);
    assert!(
        f["faultstring"]
            .as_str()
            .unwrap()
            .contains("Não existem registros")
    );
    // Bad input is refused before anything is sent.
    assert_eq!(
        api.post(
            &format!("/api/v1/companies/{cid}/omie/../x"),
            json!({"call": "X"})
        )
        .await
        .0 / 100,
        4
    );
    assert_eq!(
        api.post(&path, json!({"call": "Listar; DROP"})).await.0,
        422
    );
}

#[tokio::test]
async fn a_blocked_key_is_not_called_again() {
    let (stub, _s, cid, api) = setup().await;
    let path = format!("/api/v1/companies/{cid}/omie/geral/clientes");
    let (st, v) = api
        .post(&path, json!({"call": "Bloquear", "param": [{}]}))
        .await;
    assert_eq!(st, 425, "{v}");
    let before = stub.requests.lock().unwrap().len();
    let r = reqwest::Client::new()
        .post(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"call": "ListarClientes", "param": [{"pagina": 9}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 425);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 1700, "{wait}");
    assert_eq!(
        stub.requests.lock().unwrap().len(),
        before,
        "nothing sent while blocked"
    );
}

#[tokio::test]
async fn a_burst_is_kept_within_omie_limits() {
    let (stub, _s, cid, api) = setup().await;
    let path = format!("/api/v1/companies/{cid}/omie/geral/clientes");
    let started = Instant::now();
    let mut tasks = Vec::new();
    // 250 distinct reads (no cache) and 6 writes, all at once.
    for i in 0..250 {
        let (c, url, token) = (
            api.http.clone(),
            format!("{}{path}", api.base),
            api.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let body = json!({"call": "ListarClientesLento", "param": [{"pagina": i}]});
            c.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for i in 0..6 {
        let (c, url, token) = (
            api.http.clone(),
            format!("{}{path}", api.base),
            api.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let body = json!({"call": "IncluirCliente", "param": [{"codigo": i}]});
            c.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    let ok = codes.iter().filter(|c| **c == 200).count();
    let busy = codes.iter().filter(|c| **c == 429).count();
    assert_eq!(ok + busy, codes.len(), "{codes:?}");
    let sent = stub.requests.lock().unwrap().len();
    assert_eq!(sent, ok, "every 200 was one call to Omie");
    // 240 a minute per key and method: the 10 reads over the budget waited for refill.
    assert!(ok >= 246, "most calls got through after waiting: {ok}");
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "the last reads waited for the per-minute budget"
    );
    let max = stub.max_in_flight.lock().unwrap().clone();
    assert!(
        max["ListarClientesLento"] <= 4,
        "at most 4 reads at once: {max:?}"
    );
    assert!(
        max["ListarClientesLento"] > 1,
        "reads do run side by side: {max:?}"
    );
    assert_eq!(max["IncluirCliente"], 1, "writes one at a time");
}

#[tokio::test]
async fn usage_is_metered_and_reported() {
    let (_stub, s, cid, api) = setup().await;
    api.get(&format!("/api/v1/companies/{cid}")).await;
    assert_eq!(
        api.get(&format!("/api/v1/companies/{cid}/omie-credentials"))
            .await
            .0,
        403
    );
    for _ in 0..2 {
        api.post(
            &format!("/api/v1/companies/{cid}/omie/geral/clientes"),
            json!({"call": "ListarClientes", "param": [{}]}),
        )
        .await;
    }
    let owner = s.api(&s.token().await);
    let (st, report) = owner
        .get(&format!("/api/v1/reports/usage?company_id={cid}"))
        .await;
    assert_eq!(st, 200);
    let count = |op: &str| -> i64 {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["operation"] == op)
            .map(|r| r["count"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(count("companies.read"), 1);
    assert_eq!(count("omie:ListarClientes"), 2);
    assert_eq!(
        count("refused"),
        2,
        "the 403s: proxy before the scope, credentials without it"
    );
    let csv = reqwest::Client::new()
        .get(s.url("/api/v1/reports/usage?format=csv"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with(
            "date,company_id,application_id,operation,count,company_name,application_name\n"
        ) && text.contains(",omie:ListarClientes,2,Empresa A Ltda,Robô\n"),
        "{text}"
    );
    assert_eq!(
        owner.get("/api/v1/reports/usage?from=28-11-2026").await.0,
        422
    );

    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let page = b.get("/admin/usage").await.body;
    // The five calls above and the token issued (issue 12: every call is counted).
    assert!(
        page.contains("<svg class=\"chart usage\"")
            && page.contains("id=\"total-calls\"><span class=\"num\">6</span>"),
        "{page}"
    );
    let file = b.get("/admin/usage.csv").await;
    assert!(
        file.body.contains(";Leitura de uma empresa;1\r\n"),
        "{}",
        file.body
    );
}

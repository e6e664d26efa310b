//! `kill -9` during a burst of writes loses nothing that was answered 201.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_concurrent_creations_loses_no_acknowledged_write() {
    let mut s = Server::start();
    s.create_owner();
    let token = s.token().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, token, acked, counter) = (
            s.url("/api/v1/companies"),
            token.clone(),
            acknowledged.clone(),
            counter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            loop {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let body = json!({"legal_name": format!("Rajada {n}"), "cnpj": crate::common::cnpj_from(50_000 + n)});
                match c.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status() == 201 => {
                        let v: serde_json::Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => break,
                        };
                        acked.lock().unwrap().push(v["id"].as_str().unwrap().to_string());
                    }
                    // The server died under us: stop.
                    _ => break,
                }
            }
        }));
    }
    // Let the burst run, then pull the plug in the middle of it.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if acknowledged.lock().unwrap().len() >= 150 {
            break;
        }
    }
    s.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "the burst made only {} creations",
        acked.len()
    );

    s.restart();
    let api = s.api(&s.token().await);
    for id in &acked {
        let (st, _) = api.get(&format!("/api/v1/companies/{id}")).await;
        assert_eq!(
            st, 200,
            "company {id} was answered 201 but is gone after kill -9"
        );
    }
    let verify = s.cli(&["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    eprintln!(
        "kill -9 test: {} acknowledged creations, all present after restart",
        acked.len()
    );
    println!("KILL-TEST company_creations acked={} lost=0", acked.len());
}

/// An application with `omie_credentials:read` on `n` companies that hold Omie keys:
/// (client_id, client_secret, company ids).
async fn reading_application(s: &Server, n: u64) -> (String, String, Vec<String>) {
    let owner = s.api(&s.token().await);
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Leitor"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let (app_id, client_id, secret) = (
        app["id"].as_str().unwrap().to_string(),
        app["client_id"].as_str().unwrap().to_string(),
        app["client_secret"].as_str().unwrap().to_string(),
    );
    let mut ids = Vec::new();
    for i in 0..n {
        let (st, c) = owner
            .post(
                "/api/v1/companies",
                json!({"legal_name": format!("Leitura {i} Ltda"), "cnpj": crate::common::cnpj_from(70_000 + i)}),
            )
            .await;
        assert_eq!(st, 201, "{c}");
        let cid = c["id"].as_str().unwrap().to_string();
        let (st, v) = owner
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/companies/{cid}/omie-credentials"),
                Some(json!({"app_key": format!("17246302{i:05}"), "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = owner
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/companies/{cid}/applications/{app_id}"),
                Some(json!({"scopes": ["companies:read", "omie_credentials:read"]})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        ids.push(cid);
    }
    (client_id, secret, ids)
}

async fn issue(c: &reqwest::Client, url: &str, client_id: &str, secret: &str) -> Option<String> {
    let r = c
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let v: serde_json::Value = r.json().await.ok()?;
    v["access_token"].as_str().map(str::to_string)
}

/// `kill -9` during a burst of credential reads and token issues by applications (the
/// group-committed hot paths): every read answered 200 has its audit row after restart,
/// every token answered works, and the chain verifies. Prints the loss for
/// `scripts/bench/kill_repeat.sh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_credential_reads_and_token_issues_loses_no_acknowledged_write() {
    let mut s = Server::start();
    s.create_owner();
    let (client_id, secret, companies) = reading_application(&s, 4).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let token_url = s.url("/api/v1/auth/token");
    let reader = issue(&http, &token_url, &client_id, &secret)
        .await
        .expect("a token to read with");
    let reads_before =
        s.count("SELECT count(*) FROM audit_log WHERE action = 'omie_credentials.read'");
    let reads = Arc::new(AtomicU64::new(0));
    let tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for w in 0..16usize {
        let http = http.clone();
        if w % 2 == 0 {
            let (reads, token) = (reads.clone(), reader.clone());
            let url = s.url(&format!(
                "/api/v1/companies/{}/omie-credentials",
                companies[w / 2 % companies.len()]
            ));
            tasks.push(tokio::spawn(async move {
                loop {
                    match http.get(&url).bearer_auth(&token).send().await {
                        Ok(r) if r.status() == 200 => {
                            // Answered only once the body is in: then it is acknowledged.
                            if r.bytes().await.is_err() {
                                break;
                            }
                            reads.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => break,
                    }
                }
            }));
        } else {
            let (tokens, url, cid, sec) = (
                tokens.clone(),
                token_url.clone(),
                client_id.clone(),
                secret.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while let Some(t) = issue(&http, &url, &cid, &sec).await {
                    tokens.lock().unwrap().push(t);
                }
            }));
        }
    }
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if reads.load(Ordering::SeqCst) >= 400 && tokens.lock().unwrap().len() >= 400 {
            break;
        }
    }
    s.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked_reads = reads.load(Ordering::SeqCst) as i64;
    let acked_tokens = tokens.lock().unwrap().clone();
    assert!(
        acked_reads >= 20 && acked_tokens.len() >= 20,
        "the burst made only {acked_reads} reads and {} tokens",
        acked_tokens.len()
    );

    s.restart();
    let rows = s.count("SELECT count(*) FROM audit_log WHERE action = 'omie_credentials.read'")
        - reads_before;
    let lost_reads = (acked_reads - rows).max(0);
    let mut lost_tokens = 0;
    for t in &acked_tokens {
        let r = http
            .get(s.url("/api/v1/companies"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            lost_tokens += 1;
        }
    }
    let issued_rows = s.count("SELECT count(*) FROM app_tokens");
    println!("KILL-TEST credential_reads acked={acked_reads} audit_rows={rows} lost={lost_reads}");
    println!(
        "KILL-TEST token_issues acked={} stored={issued_rows} lost={lost_tokens}",
        acked_tokens.len()
    );
    assert_eq!(
        lost_reads, 0,
        "answered credential reads lost their audit rows"
    );
    assert_eq!(lost_tokens, 0, "answered tokens do not work after kill -9");
    let verify = s.cli(&["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

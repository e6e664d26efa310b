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
}

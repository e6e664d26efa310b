//! `GET /metrics` (issue 13, DESIGN.md §8.4): hidden without `OTM_METRICS_TOKEN`, a
//! bearer with it, the OpenMetrics text format (read by the strict parser below),
//! requests counted by route pattern, and no id, name or e-mail in the answer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};

const TOKEN: &str = "metrics-token-for-the-tests-0123456789";

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The exposition as families (name → type) and samples. Panics on any line that is
/// not exactly the OpenMetrics text format: a comment other than HELP/TYPE/UNIT/EOF, a
/// sample of an undeclared family, a bad label, a value that is not a number, text
/// after `# EOF` or no `# EOF`.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    let mut lines = text.lines();
    let mut eof = false;
    for line in lines.by_ref() {
        if line == "# EOF" {
            eof = true;
            break;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            let arg = parts.next().unwrap_or("");
            assert!(valid_name(name), "bad family name in {line:?}");
            match kind {
                "TYPE" => {
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "summary",
                            "unknown",
                            "stateset",
                            "gaugehistogram"
                        ]
                        .contains(&arg),
                        "{line:?}"
                    );
                    assert!(
                        types.insert(name.to_string(), arg.to_string()).is_none(),
                        "family declared twice: {name}"
                    );
                }
                "HELP" | "UNIT" => {}
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line:?}"));
                (name.to_string(), parse_labels(body, line))
            }
        };
        assert!(valid_name(&name), "bad sample name in {line:?}");
        let family = types
            .keys()
            .filter(|f| {
                name == **f
                    || ["_total", "_bucket", "_count", "_sum", "_info", "_created"]
                        .iter()
                        .any(|s| name == format!("{f}{s}"))
            })
            .max_by_key(|f| f.len());
        assert!(family.is_some(), "sample of an undeclared family: {line:?}");
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    assert!(eof, "no # EOF");
    assert_eq!(lines.next(), None, "text after # EOF");
    (types, samples)
}

fn valid_name(n: &str) -> bool {
    let mut b = n.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
        assert!(valid_name(key), "bad label name in {line:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label in {line:?}"),
            }
        };
        assert!(out.insert(key.to_string(), value).is_none(), "{line:?}");
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

async fn scrape(s: &Server, auth: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(s.url("/metrics"));
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn metrics_are_absent_without_the_setting() {
    let s = Server::start();
    assert_eq!(scrape(&s, None).await.status(), 404);
    let with = scrape(&s, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(with.status(), 404);
    assert!(!with.text().await.unwrap().contains("otm_"));
}

#[tokio::test]
async fn metrics_want_the_bearer_count_route_patterns_and_hold_no_personal_data() {
    let s = Server::start_with(&[("OTM_METRICS_TOKEN", TOKEN)]);
    for auth in [
        None,
        Some("Bearer wrong-token-of-some-length".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
    ] {
        let r = scrape(&s, auth.as_deref()).await;
        assert_eq!(r.status(), 401, "{auth:?}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(!r.text().await.unwrap().contains("otm_"));
    }

    // Traffic with ids, names and e-mails in paths, queries and bodies.
    s.create_owner();
    let api = s.api(&s.token().await);
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": "Padaria Sigilosa Ltda", "cnpj": "11.222.333/0001-81",
                   "contact_name": "Joaquina Secreta", "email": "joaquina@sigilosa.com.br"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cmp_"), "{id}");
    for _ in 0..3 {
        let (st, _) = api.get(&format!("/api/v1/companies/{id}")).await;
        assert_eq!(st, 200);
    }
    let (st, _) = api
        .get("/api/v1/companies?q=joaquina@sigilosa.com.br")
        .await;
    assert_eq!(st, 200);
    let (st, _) = api.get("/api/v1/companies/cmp_naoexiste").await;
    assert_eq!(st, 404);
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(b.get(&format!("/admin/companies/{id}")).await.status, 200);
    for path in [
        "/nada/joaquina@sigilosa.com.br",
        "/Padaria-Sigilosa",
        &format!("/x/{id}"),
    ] {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }

    let r = scrape(&s, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(r.status(), 200);
    let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let body = r.text().await.unwrap();
    let (types, samples) = parse(&body);

    assert!(types.keys().all(|n| n.starts_with("otm_")), "{types:?}");
    assert!(samples.iter().all(|s| s.name.starts_with("otm_")));
    for (family, kind) in [
        ("otm_http_requests", "counter"),
        ("otm_http_request_duration_seconds", "histogram"),
        ("otm_omie_proxy_calls", "counter"),
        ("otm_job_last_success_timestamp_seconds", "gauge"),
        ("otm_build", "info"),
        ("otm_db_pool_connections", "gauge"),
        ("otm_db_pool_idle_connections", "gauge"),
        ("otm_db_read_queue", "gauge"),
        ("otm_db_size_bytes", "gauge"),
        ("otm_db_wal_size_bytes", "gauge"),
        ("otm_outbox_depth", "gauge"),
        ("otm_outbox_oldest_age_seconds", "gauge"),
        ("otm_outbox_dead_letters", "gauge"),
        ("otm_backup_last_success_timestamp_seconds", "gauge"),
        ("otm_backup_last_success_size_bytes", "gauge"),
        ("otm_audit_chain_intact", "gauge"),
        ("otm_audit_chain_verified_timestamp_seconds", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let route = [
        ("method", "GET"),
        ("route", "/api/v1/companies/{id}"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        value(&samples, "otm_http_requests_total", &route),
        Some(3.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_http_requests_total",
            &[("route", "/api/v1/companies/{id}"), ("status_class", "4xx")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/companies"),
                ("status_class", "2xx")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_http_requests_total",
            &[("route", "unmatched"), ("status_class", "4xx")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/v1/companies/{id}")]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_http_request_duration_seconds_bucket",
            &[("route", "/api/v1/companies/{id}"), ("le", "+Inf")]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            &samples,
            "otm_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert!(value(&samples, "otm_db_size_bytes", &[]).unwrap() > 0.0);
    assert!(value(&samples, "otm_db_pool_connections", &[]).unwrap() >= 1.0);
    assert_eq!(value(&samples, "otm_audit_chain_intact", &[]), Some(-1.0));
    // Every route label is one of the router's patterns, or `unmatched`.
    let patterns: BTreeSet<String> = omie_tenant_manager::routes::table()
        .into_iter()
        .map(|r| r.template())
        .collect();
    let routes: BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert!(routes.len() >= 4, "{routes:?}");
    for r in &routes {
        assert!(*r == "unmatched" || patterns.contains(*r), "{r}");
    }
    for secret in [
        "cmp_",
        "@",
        "Sigilosa",
        "sigilosa",
        "Joaquina",
        "joaquina",
        "11222333000181",
        id.as_str(),
        TOKEN,
    ] {
        assert!(!body.contains(secret), "{secret} in the metrics:\n{body}");
    }
}

/// Omie proxy calls are counted by outcome, and the company's keys, CNPJ and id stay out.
#[tokio::test]
async fn omie_proxy_calls_are_counted_by_outcome() {
    use crate::proxy::{KEY, SECRET, linked_app};
    let (_stub, s, cid, _, _, api) = linked_app(
        &[("OTM_METRICS_TOKEN", TOKEN)],
        "Empresa Reservada Ltda",
        &["omie:proxy"],
    )
    .await;
    let path = format!("/api/v1/companies/{cid}/omie/geral/clientes");
    let list = json!({"call": "ListarClientes", "param": [{"pagina": 1}]});
    assert_eq!(api.post(&path, list.clone()).await.0, 200);
    assert_eq!(api.post(&path, list).await.0, 200);
    let fault = json!({"call": "ConsultarInexistente", "param": [{}]});
    assert_eq!(api.post(&path, fault).await.0, 500);

    let body = scrape(&s, Some(&format!("Bearer {TOKEN}")))
        .await
        .text()
        .await
        .unwrap();
    let (_, samples) = parse(&body);
    let calls = |outcome| {
        value(
            &samples,
            "otm_omie_proxy_calls_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(calls("ok"), Some(1.0), "{body}");
    assert_eq!(calls("cached"), Some(1.0));
    assert_eq!(calls("omie_error"), Some(1.0));
    assert_eq!(calls("blocked"), Some(0.0));
    assert_eq!(
        value(
            &samples,
            "otm_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/companies/{id}/omie/{endpoint}"),
                ("status_class", "2xx")
            ]
        ),
        Some(2.0),
        "{body}"
    );
    for secret in [
        KEY,
        SECRET,
        "11222333000181",
        "Reservada",
        "cmp_",
        cid.as_str(),
    ] {
        assert!(!body.contains(secret), "{secret} in the metrics");
    }
}

//! Health, headers, limits, the OpenAPI document and anonymous access.

use crate::common::Server;

#[tokio::test]
async fn health_and_readiness() {
    let s = Server::start();
    let r = reqwest::get(s.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    assert_eq!(reqwest::get(s.url("/readyz")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let s = Server::start();
    for path in [
        "/login",
        "/healthz",
        "/api/v1/validate/cnpj?value=1",
        "/nao-existe",
        "/static/app.css",
    ] {
        let r = reqwest::get(s.url(path)).await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert!(h.get("referrer-policy").is_some(), "{path}");
    }
}

#[tokio::test]
async fn pages_are_portuguese_and_not_cached_and_404_is_friendly() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;
    let r = b.http.get(s.url("/admin")).send().await.unwrap();
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let body = r.text().await.unwrap();
    assert!(body.contains("<html lang=\"pt-BR\">"));
    assert!(!body.contains("<script>"), "no inline script");
    let nf = b.get("/admin/companies/cmp_doesnotexist").await;
    assert_eq!(nf.status, 404);
    assert!(nf.body.contains("Página não encontrada"));
    let api = reqwest::get(s.url("/api/v1/nothing")).await.unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(
        api.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let s = Server::start();
    let big = "x".repeat(512 * 1024);
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{big}\",\"password\":\"x\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login_and_api_needs_a_token() {
    let s = Server::start();
    let b = s.browser();
    for path in [
        "/admin",
        "/admin/companies",
        "/admin/companies/new",
        "/admin/companies/x",
        "/admin/companies/x/edit",
        "/admin/audit",
    ] {
        let p = b.get(path).await;
        let back = serde_urlencoded::to_string([("next", path)]).unwrap();
        let login = if path == "/admin" {
            "/login".to_string()
        } else {
            format!("/login?{back}")
        };
        assert_eq!(
            (p.status, p.location.as_deref()),
            (303, Some(login.as_str())),
            "{path}"
        );
    }
    let c = reqwest::Client::new();
    for (m, path) in [
        ("GET", "/api/v1/companies"),
        ("POST", "/api/v1/companies"),
        ("GET", "/api/v1/companies/x"),
        ("PATCH", "/api/v1/companies/x"),
        ("DELETE", "/api/v1/companies/x"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/auth/logout"),
    ] {
        let r = c
            .request(m.parse().unwrap(), s.url(path))
            .bearer_auth("not-a-token")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{m} {path}");
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn openapi_document_covers_every_api_route() {
    let s = Server::start();
    let doc: serde_json::Value = reqwest::get(s.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut seen = 0;
    // The router's own table, not a reading of the source.
    for r in omie_tenant_manager::routes::table() {
        if r.area != omie_tenant_manager::routes::Area::Api {
            continue;
        }
        let (method, full) = (r.method.as_str().to_lowercase(), r.template());
        let item = paths
            .get(&full)
            .unwrap_or_else(|| panic!("{full} missing from openapi.json"));
        assert!(
            item.get(&method).is_some(),
            "{method} {full} missing from openapi.json"
        );
        seen += 1;
    }
    assert!(seen >= 9, "parsed {seen} routes");

    // Generated by utoipa as OpenAPI 3.1, with the bearer scheme.
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    // Every error an operation documents is problem+json (the token endpoint answers
    // RFC 6749's own errors instead), and every list is the one `Page` shape.
    let responses = &doc["components"]["responses"];
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                let r = match r["$ref"].as_str() {
                    Some(name) => &responses[name.trim_start_matches("#/components/responses/")],
                    None => r,
                };
                if status.starts_with('4') && path != "/api/v1/auth/token" {
                    assert_eq!(
                        r["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                if let Some(name) = schema.as_str() {
                    let s = &doc["components"]["schemas"][name.rsplit('/').next().unwrap()];
                    if s["properties"].get("items").is_some() {
                        assert!(name.contains("/Page_"), "{method} {path}: {name}");
                        assert_eq!(s["required"], serde_json::json!(["items", "next_cursor"]));
                    }
                }
            }
        }
    }
}

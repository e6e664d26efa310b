//! Companies through the pages and the API.

use reqwest::Method;
use serde_json::json;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Server};

fn company_form<'a>(legal: &'a str, cnpj: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("legal_name", legal),
        ("trade_name", "Padaria do Zé"),
        ("cnpj", cnpj),
        ("contact_name", "José da Silva"),
        ("email", "ZE@Padaria.com.br"),
        ("phone", "11912345678"),
    ]
}

#[tokio::test]
async fn create_search_edit_suspend_archive_on_the_dashboard() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;

    let created = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &company_form("Padaria São José Ltda", "11.222.333/0001-81"),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let show_path = created.location.unwrap();
    let show = b.get(&show_path).await;
    assert!(
        show.body
            .contains("Empresa Padaria São José Ltda cadastrada."),
        "flash shown"
    );
    assert!(
        show.body.contains("11.222.333/0001-81"),
        "CNPJ shown masked"
    );
    assert!(show.body.contains("(11) 91234-5678"), "phone formatted");
    assert!(show.body.contains("ze@padaria.com.br"), "e-mail normalized");
    assert!(
        show.body.contains("company.create"),
        "history on the company page"
    );
    // The flash is shown once.
    assert!(!b.get(&show_path).await.body.contains("cadastrada."));

    for q in [
        "sao jose",
        "11222333000181",
        "11.222.333/0001-81",
        "Padaria do",
        "333/0001",
    ] {
        let list = b.get(&format!("/admin/companies?q={}", urlencode(q))).await;
        assert!(list.body.contains("Padaria São José Ltda"), "search {q:?}");
    }
    let none = b.get("/admin/companies?q=inexistente").await;
    assert!(none.body.contains("Nenhuma empresa encontrada"));

    let id = show_path.rsplit('/').next().unwrap().to_string();
    let edit_page = format!("/admin/companies/{id}/edit");
    let mut form = company_form("Padaria São José Ltda", "11.222.333/0001-81");
    form[3] = ("contact_name", "Maria José");
    let edited = b
        .submit(&edit_page, &format!("/admin/companies/{id}"), &form)
        .await;
    assert_eq!(edited.status, 303);
    let show = b.get(&show_path).await;
    assert!(show.body.contains("Maria José") && show.body.contains("company.update"));

    let csrf = b.get(&show_path).await.csrf();
    let r = b
        .post(
            &format!("/admin/companies/{id}/status"),
            &[("csrf_token", &csrf), ("status", "suspended")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(b.get(&show_path).await.body.contains("Suspensa"));
    let r = b
        .post(
            &format!("/admin/companies/{id}/status"),
            &[("csrf_token", &csrf), ("status", "archived")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        !b.get("/admin/companies")
            .await
            .body
            .contains("Padaria São José"),
        "archived leaves the list"
    );
    assert!(
        b.get("/admin/companies?status=archived")
            .await
            .body
            .contains("Padaria São José")
    );
    let overview = b.get("/admin").await;
    assert!(overview.body.contains("company.archive"), "recent activity");
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn invalid_input_is_explained_and_kept() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let form = vec![
        ("legal_name", ""),
        ("cnpj", "12.ABC.345/01DE-00"),
        ("email", "ze-arroba-padaria"),
        ("phone", "1234"),
        ("contact_name", "Zé <script>alert(1)</script>"),
    ];
    let r = b
        .submit("/admin/companies/new", "/admin/companies", &form)
        .await;
    assert_eq!(r.status, 422);
    for msg in [
        "Informe a razão social.",
        "dígitos verificadores",
        "E-mail inválido",
        "Telefone inválido",
    ] {
        assert!(r.body.contains(msg), "missing {msg:?}");
    }
    assert!(r.body.contains("12.ABC.345/01DE-00"), "typed CNPJ kept");
    assert!(r.body.contains("ze-arroba-padaria"), "typed e-mail kept");
    assert!(r.body.contains("Zé &#60;script&#62;"), "typed text escaped");
    assert!(!r.body.contains("<script>alert"), "never echoed raw");
}

#[tokio::test]
async fn duplicate_and_invalid_cnpjs_of_both_formats_are_refused() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    for (cnpj, dup) in [
        ("11.222.333/0001-81", "11222333000181"),
        ("12.ABC.345/01DE-35", "12abc34501de35"),
    ] {
        let (st, c) = api
            .post(
                "/api/v1/companies",
                json!({"legal_name": "Primeira", "cnpj": cnpj}),
            )
            .await;
        assert_eq!(st, 201, "{c}");
        assert_eq!(c["cnpj_formatted"], cnpj);
        // The contract's `cnpj` is the normalized value, the mask only in cnpj_formatted.
        assert_eq!(c["cnpj"], dup.to_uppercase());
        assert_eq!(c["status"], "active");
        let (st, p) = api
            .post(
                "/api/v1/companies",
                json!({"legal_name": "Segunda", "cnpj": dup}),
            )
            .await;
        assert_eq!(st, 409, "{p}");
        assert_eq!(p["errors"][0]["field"], "cnpj");
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Já existe")
        );
    }
    for bad in [
        "12.ABC.345/01DE-00",
        "11.222.333/0001-80",
        "00000000000000",
        "123",
    ] {
        let (st, p) = api
            .post("/api/v1/companies", json!({"legal_name": "X", "cnpj": bad}))
            .await;
        assert_eq!(st, 422, "{bad}");
        assert_eq!(p["errors"][0]["field"], "cnpj", "{bad}");
    }
    // The dashboard says the same in Portuguese.
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = b
        .submit(
            "/admin/companies/new",
            "/admin/companies",
            &company_form("Terceira", "12.ABC.345/01DE-35"),
        )
        .await;
    assert!(
        r.body
            .contains("Já existe uma empresa cadastrada com este CNPJ")
    );
    let (_, list) = api.get("/api/v1/companies").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "nothing half-written"
    );
}

#[tokio::test]
async fn validate_cnpj_endpoint() {
    let s = Server::start();
    let get =
        |v: &str| reqwest::get(s.url(&format!("/api/v1/validate/cnpj?value={}", urlencode(v))));
    let ok: serde_json::Value = get("12abc34501de35").await.unwrap().json().await.unwrap();
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["normalized"], "12ABC34501DE35");
    assert_eq!(ok["formatted"], "12.ABC.345/01DE-35");
    let r = get("11.222.333/0001-80").await.unwrap();
    assert_eq!(r.status(), 200);
    let bad: serde_json::Value = r.json().await.unwrap();
    assert_eq!(bad["valid"], false);
    assert!(bad["message"].as_str().unwrap().contains("CNPJ inválido"));
}

#[tokio::test]
async fn api_crud_pagination_and_archive() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let mut ids = Vec::new();
    for i in 0..5u64 {
        let (st, c) = api
            .post("/api/v1/companies", json!({"legal_name": format!("Empresa {i}"), "cnpj": crate::common::cnpj_from(1000 + i)}))
            .await;
        assert_eq!(st, 201, "{c}");
        assert!(c["created_at"].as_str().unwrap().ends_with('Z'));
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    // Walk the list two at a time.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (st, page) = api
            .get(&format!("/api/v1/companies?limit=2&cursor={cursor}"))
            .await;
        assert_eq!(st, 200);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["legal_name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..5).map(|i| format!("Empresa {i}")).collect::<Vec<_>>()
    );

    let (st, c) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", ids[0]),
            Some(json!({"phone": "(21) 3123-4567"})),
        )
        .await;
    assert_eq!((st, c["phone"].as_str()), (200, Some("+552131234567")));
    let (st, p) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", ids[0]),
            Some(json!({"email": "sem-arroba"})),
        )
        .await;
    assert_eq!(st, 422);
    assert_eq!(p["errors"][0]["field"], "email");
    assert_eq!(
        api.get(&format!("/api/v1/companies/{}", ids[0])).await.1["phone"],
        "+552131234567",
        "unchanged by the failed PATCH"
    );

    // A status change with a refused field change commits neither.
    let (st, _) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", ids[2]),
            Some(json!({"status": "archived", "cnpj": crate::common::cnpj_from(1000)})),
        )
        .await;
    assert_eq!(st, 409);
    assert_eq!(
        api.get(&format!("/api/v1/companies/{}", ids[2])).await.1["status"],
        "active"
    );
    let (st, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/companies/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (_, list) = api.get("/api/v1/companies").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    let (_, archived) = api.get("/api/v1/companies?status=archived").await;
    assert_eq!(archived["items"][0]["id"], ids[1]);
    assert_eq!(api.get("/api/v1/companies/cmp_nope").await.0, 404);
    let (st, p) = api.get("/api/v1/companies?status=banana").await;
    assert_eq!(st, 422, "{p}");
}

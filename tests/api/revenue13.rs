//! Issue 13, items 5 and 6: each company's monthly fee (page and API, audited in words),
//! the monthly recurring revenue on the overview, and the weekly summary report.

use reqwest::Method;
use serde_json::json;

use crate::common::{Api, OWNER_EMAIL, OWNER_PASSWORD, Server};

async fn company(api: &Api, name: &str, cnpj: &str) -> String {
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": name, "cnpj": cnpj}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    assert!(c["monthly_fee_cents"].is_null(), "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn patch(api: &Api, id: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    api.send(
        Method::PATCH,
        &format!("/api/v1/companies/{id}"),
        Some(body),
    )
    .await
}

fn fee_in_db(s: &Server, id: &str) -> Option<i64> {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "SELECT monthly_fee_cents FROM companies WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

/// The text of the element with `id` (up to the next tag).
fn text_of(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].trim().to_string()
}

/// A fee typed the Brazilian way on the company's edit page is saved in cents, shown
/// back the same way, recorded in the history as "Mensalidade: R$ 1.000,00 → R$
/// 1.200,00"; a value that is not money is refused in Portuguese and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fee_is_typed_in_reais_on_the_page_and_shown_in_the_history() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let id = company(&api, "Padaria Pão Quente Ltda", "11222333000181").await;
    let edit = format!("/admin/companies/{id}/edit");
    let action = format!("/admin/companies/{id}");
    let form = |fee: &'static str| {
        vec![
            ("legal_name", "Padaria Pão Quente Ltda"),
            ("cnpj", "11.222.333/0001-81"),
            ("monthly_fee_cents", fee),
        ]
    };
    let r = b.submit(&edit, &action, &form("R$ 1.000,00")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(fee_in_db(&s, &id), Some(100_000));
    let page = b.get(&edit).await.body;
    assert!(page.contains("value=\"1.000,00\""), "{page}");

    let r = b.submit(&edit, &action, &form("1200")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(fee_in_db(&s, &id), Some(120_000));

    for bad in ["12.34", "mil reais", "-5,00"] {
        let r = b.submit(&edit, &action, &form(bad)).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert!(
            r.body.contains("Digite o valor em reais") || r.body.contains("não pode ser negativa"),
            "{bad}: {}",
            r.body
        );
        assert_eq!(fee_in_db(&s, &id), Some(120_000), "{bad} changed nothing");
    }

    let show = b.get(&action).await.body;
    assert!(
        show.contains("Mensalidade: R$ 1.000,00 → R$ 1.200,00"),
        "{show}"
    );
    assert!(show.contains("Mensalidade: — → R$ 1.000,00"), "{show}");

    // Cleared by an empty field.
    let r = b.submit(&edit, &action, &form("")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(fee_in_db(&s, &id), None);
}

/// Through the API: cents in and out, null clears, a negative or huge value or a
/// string answers 422/400 with nothing changed, and the company's own admin may not set it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fee_is_set_in_cents_through_the_api() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let id = company(&api, "Mercado Bom Preço Ltda", "11444777000161").await;
    let (st, c) = patch(&api, &id, json!({"monthly_fee_cents": 123_456})).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["monthly_fee_cents"], 123_456);
    let (_, c) = api.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(c["monthly_fee_cents"], 123_456);

    let (st, p) = patch(
        &api,
        &id,
        json!({"monthly_fee_cents": -1, "trade_name": "Bom Preço"}),
    )
    .await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "monthly_fee_cents", "{p}");
    assert_eq!(
        p["errors"][0]["message"], "A mensalidade não pode ser negativa.",
        "{p}"
    );
    let (st, p) = patch(&api, &id, json!({"monthly_fee_cents": 100_000_000_000_i64})).await;
    assert_eq!(st, 422, "{p}");
    let (st, _) = patch(&api, &id, json!({"monthly_fee_cents": "12,50"})).await;
    assert_eq!(st, 400);
    let (_, c) = api.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(c["monthly_fee_cents"], 123_456, "nothing changed");
    assert_eq!(c["trade_name"], "", "nothing changed");

    // Leaving it out keeps it; null clears it.
    let (_, c) = patch(&api, &id, json!({"trade_name": "Bom Preço"})).await;
    assert_eq!(c["monthly_fee_cents"], 123_456);
    let (st, c) = patch(&api, &id, json!({"monthly_fee_cents": null})).await;
    assert_eq!(st, 200, "{c}");
    assert!(c["monthly_fee_cents"].is_null(), "{c}");
    let (_, audit) = api
        .get(&format!(
            "/api/v1/audit?company_id={id}&action=company.update"
        ))
        .await;
    assert!(
        audit.to_string().contains("monthly_fee_cents"),
        "the change is audited: {audit}"
    );
}

/// The overview's MRR counts the fees of active companies only, and its trend compares
/// with 30 days ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_the_mrr_of_active_companies() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let home = b.get("/admin").await.body;
    assert_eq!(text_of(&home, "mrr-value"), "R$ 0,00");

    let fees = [
        ("Alfa Comércio Ltda", crate::common::cnpj_from(1), 1_000_000),
        ("Beta Serviços Ltda", crate::common::cnpj_from(2), 234_500),
        ("Gama Indústria Ltda", crate::common::cnpj_from(3), 99_900),
        (
            "Delta Transportes Ltda",
            crate::common::cnpj_from(4),
            50_000,
        ),
    ];
    let mut ids = vec![];
    for (name, cnpj, fee) in &fees {
        let id = company(&api, name, cnpj).await;
        let (st, c) = patch(&api, &id, json!({"monthly_fee_cents": fee})).await;
        assert_eq!(st, 200, "{c}");
        ids.push(id);
    }
    let home = b.get("/admin").await.body;
    assert_eq!(text_of(&home, "mrr-value"), "R$ 13.844,00");
    // Suspended and archived companies do not count.
    let (st, _) = patch(&api, &ids[2], json!({"status": "suspended"})).await;
    assert_eq!(st, 200);
    let (st, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/companies/{}", ids[3]),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let home = b.get("/admin").await.body;
    assert!(home.contains("Receita mensal recorrente"), "{home}");
    assert_eq!(text_of(&home, "mrr-value"), "R$ 12.345,00");
    // 30 days ago there was no fee at all.
    assert_eq!(
        text_of(&home, "mrr-trend"),
        "↑ +R$ 12.345,00 em relação a 30 dias atrás"
    );
    // With a record from 40 days ago, the trend compares with it.
    let day = (chrono::Utc::now() - chrono::Duration::days(40))
        .format("%Y-%m-%d")
        .to_string();
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "INSERT INTO mrr_daily (date, mrr_cents, companies) VALUES (?1, 1000000, 1)",
            [day],
        )
        .unwrap();
    let home = b.get("/admin").await.body;
    assert_eq!(
        text_of(&home, "mrr-trend"),
        "↑ +R$ 2.345,00 (+23,4%) em relação a 30 dias atrás"
    );
}

/// The weekly summary, sent on demand through the API (owner only), arrives on the mail
/// server with the week's numbers in Brazilian formats, in HTML and plain text, and
/// without anyone's name or e-mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_sent_on_demand_arrives_with_the_right_numbers() {
    let smtp = crate::smtp::Smtp::start();
    let s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let api = s.api(&s.token().await);
    let mut ids = vec![];
    for n in 1..=4u64 {
        ids.push(
            company(
                &api,
                &format!("Empresa Número {n} Ltda"),
                &crate::common::cnpj_from(n),
            )
            .await,
        );
    }
    let (st, _) = patch(&api, &ids[0], json!({"monthly_fee_cents": 1_234_500})).await;
    assert_eq!(st, 200);
    let (st, _) = patch(
        &api,
        &ids[1],
        json!({"monthly_fee_cents": 50_000, "status": "suspended"}),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/companies/{}", ids[2]),
            None,
        )
        .await;
    assert_eq!(st, 204);
    // Two people wait for approval: one asks to join a company, one to register a new one.
    for (cnpj, email) in [(1u64, "joana@example.com.br"), (90, "pedro@example.com.br")] {
        let r = reqwest::Client::new()
            .post(s.url("/api/v1/signup"))
            .json(
                &json!({"cnpj": crate::common::cnpj_from(cnpj), "name": "Joana Lima",
                "email": email, "password": "senha da pessoa bem longa"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    // Usage this week and the week before; failing credentials; the week's backups.
    let today = (chrono::Utc::now() - chrono::Duration::hours(3)).date_naive();
    let day = |d: i64| {
        (today - chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let (this, before) = (day(1), day(8));
    let now = "2026-01-01T00:00:00.000Z";
    let c = rusqlite::Connection::open(s.db_path()).unwrap();
    c.execute_batch(&format!(
        "INSERT INTO applications (id, name, client_id, created_at, updated_at)
           VALUES ('app_x', 'Robô Fiscal', 'cli_x', '{now}', '{now}');
         INSERT INTO api_usage (date, application_id, company_id, operation, count) VALUES
           ('{this}', 'app_x', '{a}', 'companies.read', 1500),
           ('{before}', 'app_x', '{a}', 'companies.read', 1000),
           ('{this}', 'app_x', '{d}', 'companies.read', 7);
         INSERT INTO omie_credentials (company_id, app_key_sealed, app_secret_sealed, fingerprint,
             updated_at, updated_by, validation_status)
           VALUES ('{d}', 'x', 'x', 'f', '{now}', 'x', 'failed');
         INSERT INTO backups (id, kind, status, started_at) VALUES
           ('bk_1', 'scheduled', 'succeeded', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
           ('bk_2', 'scheduled', 'succeeded', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
           ('bk_3', 'manual', 'failed', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
           ('bk_old', 'manual', 'failed', '2020-01-01T00:00:00.000Z');",
        a = ids[0],
        d = ids[3],
    ))
    .unwrap();

    let (st, body) = api.post("/api/v1/reports/summary", json!({})).await;
    assert_eq!(st, 202, "{body}");
    let mail = smtp
        .wait_for(crate::common::OWNER_EMAIL, "Resumo semanal")
        .await;
    let t = &mail.text.replace("\r\n", "\n");
    for line in [
        "- Cadastradas: 4",
        "- Suspensas: 1",
        "- Arquivadas: 1",
        "- Pessoas aguardando aprovação: 2",
        "- Receita mensal recorrente: R$ 12.345,00",
        "- Chamadas na semana: 1.507 (semana anterior: 1.000; variação: +51%)",
        "- Empresa Número 1 Ltda: 1.500 (antes: 1.000; +50%)",
        "- Empresa Número 4 Ltda: 7 (antes: 0; novo)",
        "- Robô Fiscal: 1.507 (antes: 1.000; +51%)",
        "CREDENCIAIS DO OMIE COM FALHA\n- Empresa Número 4 Ltda",
        "- Backups concluídos: 2",
        "- Backups com falha: 1",
    ] {
        assert!(t.contains(line), "{line:?} not in:\n{t}");
    }
    assert!(mail.html.contains("R$ 12.345,00"), "{}", mail.html);
    assert!(mail.html.contains("<td>Robô Fiscal</td>"), "{}", mail.html);
    for personal in ["Joana", "joana@", "pedro@", "Dona Maria"] {
        assert!(!mail.raw.contains(personal), "{personal} in the summary");
        assert!(!t.contains(personal) && !mail.html.contains(personal));
    }
    // Staff may not send it; the sending is audited.
    let (_, audit) = api.get("/api/v1/audit?action=report.summary_send").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
}

/// The overview's button sends it too (owner), with a flash saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_button_sends_the_summary() {
    let smtp = crate::smtp::Smtp::start();
    let s = crate::smtp::with_smtp(smtp.port);
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let home = b.get("/admin").await.body;
    assert!(home.contains("Enviar o resumo semanal agora"), "{home}");
    let r = b.submit("/admin", "/admin/relatorios/resumo", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        b.get("/admin")
            .await
            .body
            .contains("Resumo semanal enviado")
    );
    smtp.wait_for(OWNER_EMAIL, "Resumo semanal").await;
}

/// "Relatórios avançados": top consumers, idle companies, failing credentials and MRR,
/// with company names only (no person's name or e-mail), linked from the menu.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_shows_top_idle_failing_and_mrr_without_personal_data() {
    let s = Server::start();
    s.create_owner();
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    let api = s.api(&s.token().await);
    let busy = company(
        &api,
        "Empresa Movimentada Ltda",
        &crate::common::cnpj_from(11),
    )
    .await;
    let idle = company(&api, "Empresa Parada Ltda", &crate::common::cnpj_from(12)).await;
    let (st, _) = patch(
        &api,
        &busy,
        json!({"monthly_fee_cents": 250_000, "contact_name": "Maria Contato", "email": "maria@example.com.br"}),
    )
    .await;
    assert_eq!(st, 200);
    let today = (chrono::Utc::now() - chrono::Duration::hours(3)).date_naive();
    let now = "2026-01-01T00:00:00.000Z";
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO applications (id, name, client_id, created_at, updated_at)
               VALUES ('app_x', 'Robô Fiscal', 'cli_x', '{now}', '{now}');
             INSERT INTO api_usage (date, application_id, company_id, operation, count)
               VALUES ('{d}', 'app_x', '{busy}', 'companies.read', 4321);
             INSERT INTO omie_credentials (company_id, app_key_sealed, app_secret_sealed,
                 fingerprint, updated_at, updated_by, validation_status)
               VALUES ('{idle}', 'x', 'x', 'f', '{now}', 'x', 'failed');",
            d = today.format("%Y-%m-%d"),
        ))
        .unwrap();
    let home = b.get("/admin").await.body;
    assert!(home.contains("href=\"/admin/relatorios\""), "menu link");
    let p = b.get("/admin/relatorios").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let top = &p.body[p.body.find("id=\"top\"").unwrap()..p.body.find("id=\"idle\"").unwrap()];
    assert!(
        top.contains("<td>Empresa Movimentada Ltda</td><td>4.321</td>"),
        "{top}"
    );
    let idle_part =
        &p.body[p.body.find("id=\"idle\"").unwrap()..p.body.find("id=\"failing\"").unwrap()];
    assert!(idle_part.contains("Empresa Parada Ltda"), "{idle_part}");
    assert!(!idle_part.contains("Movimentada"), "{idle_part}");
    let failing = &p.body[p.body.find("id=\"failing\"").unwrap()..];
    assert!(failing.contains("Empresa Parada Ltda"), "{failing}");
    assert_eq!(text_of(&p.body, "mrr-value"), "R$ 2.500,00");
    for personal in ["Maria Contato", "maria@example.com.br"] {
        assert!(!p.body.contains(personal), "{personal} on the reports page");
    }
}

/// The fee is the vendor's business: the company's own admin reads `null` (the one
/// company and the list), cannot set it, and editing the contact fields keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_platform_sees_the_fee_and_a_company_admin_edit_keeps_it() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let id = company(&owner, "Padaria Pão Quente Ltda", "11222333000181").await;
    let (st, _) = patch(&owner, &id, json!({"monthly_fee_cents": 45_000})).await;
    assert_eq!(st, 200);
    let pw = "cavalo bateria grampo azul";
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{id}/users"),
            json!({"name": "Ana", "email": "ana@paoquente.com.br", "role": "company_admin", "password": pw}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let admin = s.api_as("ana@paoquente.com.br", pw).await;

    let (st, c) = admin.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(st, 200, "{c}");
    assert!(c["monthly_fee_cents"].is_null(), "{c}");
    let (_, list) = admin.get("/api/v1/companies").await;
    assert!(list.to_string().contains(&id), "{list}");
    assert!(!list.to_string().contains("45000"), "{list}");
    let (st, _) = patch(&admin, &id, json!({"monthly_fee_cents": 1})).await;
    assert_eq!(st, 403);
    let (st, c) = patch(&admin, &id, json!({"phone": "(11) 3123-4567"})).await;
    assert_eq!(st, 200, "{c}");
    assert!(c["monthly_fee_cents"].is_null(), "{c}");
    assert_eq!(
        fee_in_db(&s, &id),
        Some(45_000),
        "the contact edit kept the fee"
    );
    let (_, c) = owner.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(c["monthly_fee_cents"], 45_000);
}

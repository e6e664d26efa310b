//! Issue 12, item 3: the usage report answers the owner's questions. Real traffic from
//! two applications on two companies (Omie is the loopback stand-in), then the page's
//! totals, top lists, refusals and failures, presets, the pickers by name, the CSV for
//! people, the paging — and every kind of application call reaching the counts.

use chrono::{Duration, NaiveDate};
use chrono_tz::America::Sao_Paulo;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Driver, sign_in};
use crate::common::{Api, Browser, OWNER_EMAIL, OWNER_PASSWORD, Server, cnpj_from};
use crate::omie_stub;

const KEY_A: &str = "1724630200001";
const KEY_B: &str = "1724630200002";
const SECRET: &str = "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a";
/// Companies linked to the first application besides A and B, so that its list of
/// companies touches more than ten companies and the rows fill more than one page.
const EXTRA: u64 = 45;

struct World {
    _stub: omie_stub::OmieStub,
    s: Server,
    owner: Api,
    a: String,
    b: String,
    sales: String,
    fiscal: String,
}

fn today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&Sao_Paulo).date_naive()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn br(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

async fn company(owner: &Api, n: u64, trade_name: &str) -> String {
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": format!("{trade_name} Ltda"), "trade_name": trade_name,
                   "cnpj": cnpj_from(n)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn link(owner: &Api, company: &str, app: &str, scopes: &[&str]) {
    let (st, v) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{company}/applications/{app}"),
            Some(json!({ "scopes": scopes })),
        )
        .await;
    assert!(st < 300, "{v}");
}

/// A new application: (its id, the creation answer with its client id and secret).
async fn application(owner: &Api, name: &str) -> (String, Value) {
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": name}))
        .await;
    assert_eq!(st, 201, "{app}");
    (app["id"].as_str().unwrap().to_string(), app)
}

async fn token(s: &Server, app: &Value) -> Api {
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
    s.api(r["access_token"].as_str().unwrap())
}

/// Two companies (A: "Padaria Pão Quente", B: "Oficina Belém") with Omie keys, 45
/// more, and two applications: "Robô de Vendas" linked to all with every scope,
/// "Painel Fiscal" linked to A with `companies:read` only. Then the traffic of
/// [`traffic`].
async fn world() -> World {
    let stub = omie_stub::start(&[(KEY_A, &cnpj_from(1)), (KEY_B, &cnpj_from(2))]);
    let s = Server::start_with(&[("OTM_OMIE_BASE_URL", stub.base.as_str())]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let a = company(&owner, 1, "Padaria Pão Quente").await;
    let b = company(&owner, 2, "Oficina Belém").await;
    for (c, key) in [(&a, KEY_A), (&b, KEY_B)] {
        let (st, v) = owner
            .send(
                Method::PUT,
                &format!("/api/v1/companies/{c}/omie-credentials"),
                Some(json!({"app_key": key, "app_secret": SECRET})),
            )
            .await;
        assert!(st < 300, "{v}");
    }
    let (sales, sales_app) = application(&owner, "Robô de Vendas").await;
    let (fiscal, fiscal_app) = application(&owner, "Painel Fiscal").await;
    let all = ["companies:read", "omie_credentials:read", "omie:proxy"];
    link(&owner, &a, &sales, &all).await;
    link(&owner, &b, &sales, &all).await;
    link(&owner, &a, &fiscal, &["companies:read"]).await;
    for n in 0..EXTRA {
        let c = company(&owner, 100 + n, &format!("Cliente {:02}", n)).await;
        link(&owner, &c, &sales, &["companies:read"]).await;
    }
    let w = World {
        _stub: stub,
        s,
        owner,
        a,
        b,
        sales,
        fiscal,
    };
    traffic(&w, &sales_app, &fiscal_app).await;
    w
}

/// Every kind of application call, with what each answers.
async fn traffic(w: &World, sales_app: &Value, fiscal_app: &Value) {
    let (a, b) = (&w.a, &w.b);
    // Robô de Vendas: a token, a list, reads, proxy calls, an Omie block, a bad body.
    let sales = token(&w.s, sales_app).await;
    let (st, list) = sales.get("/api/v1/companies").await;
    assert_eq!(st, 200);
    assert_eq!(list["items"].as_array().unwrap().len() as u64, EXTRA + 2);
    assert_eq!(sales.get(&format!("/api/v1/companies/{a}")).await.0, 200);
    assert_eq!(
        sales
            .get(&format!("/api/v1/companies/{a}/omie-credentials"))
            .await
            .0,
        200
    );
    for (c, n) in [(a, 3), (b, 1)] {
        for i in 0..n {
            let (st, v) = sales
                .post(
                    &format!("/api/v1/companies/{c}/omie/geral/clientes"),
                    json!({"call": "ListarClientes", "param": [{"pagina": i + 1}]}),
                )
                .await;
            assert_eq!(st, 200, "{v}");
        }
    }
    // Omie blocks B's keys (an error answer), then the next call is not even sent.
    for call in ["Bloquear", "ListarClientes"] {
        let (st, _) = sales
            .post(
                &format!("/api/v1/companies/{b}/omie/geral/clientes"),
                json!({"call": call, "param": [{}]}),
            )
            .await;
        assert!(st >= 400, "{call}: {st}");
    }
    // A body that is not JSON: refused before any use case runs.
    let r = reqwest::Client::new()
        .post(w.s.url(&format!("/api/v1/companies/{a}/omie/geral/clientes")))
        .bearer_auth(&sales.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Painel Fiscal: a token, a list, a read, a refused credentials read (no scope),
    // a company not its own, a route applications may not use, its sign-out.
    let fiscal = token(&w.s, fiscal_app).await;
    assert_eq!(fiscal.get("/api/v1/companies").await.0, 200);
    assert_eq!(fiscal.get(&format!("/api/v1/companies/{a}")).await.0, 200);
    assert_eq!(
        fiscal
            .get(&format!("/api/v1/companies/{a}/omie-credentials"))
            .await
            .0,
        403
    );
    assert_eq!(fiscal.get(&format!("/api/v1/companies/{b}")).await.0, 404);
    let (st, _) = fiscal.get("/api/v1/applications").await;
    assert!(st == 403 || st == 404, "{st}");
    assert_eq!(
        fiscal
            .send(Method::POST, "/api/v1/auth/logout", None)
            .await
            .0,
        204
    );
}

/// The API's usage rows for one period.
async fn api_rows(owner: &Api, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
    let (st, v) = owner
        .get(&format!(
            "/api/v1/reports/usage?from={}&to={}",
            iso(from),
            iso(to)
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn sum(rows: &[Value], pick: impl Fn(&Value) -> bool) -> i64 {
    rows.iter()
        .filter(|r| pick(r))
        .map(|r| r["count"].as_i64().unwrap())
        .sum()
}

/// The text of the element with `id`'s number (`<span class="num">`).
fn card(page: &str, id: &str) -> String {
    let at = page.find(&format!("id=\"{id}\"")).expect(id);
    let rest = &page[at..];
    let start = rest.find("<span class=\"num\">").unwrap() + "<span class=\"num\">".len();
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

/// The HTML of the table with `id`.
fn table<'p>(page: &'p str, id: &str) -> &'p str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &page[at..];
    &rest[..rest.find("</table>").unwrap()]
}

fn int_br(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

async fn owner_browser(s: &Server) -> Browser {
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    b
}

#[tokio::test]
async fn every_kind_of_application_call_is_counted() {
    let w = world().await;
    let rows = api_rows(&w.owner, today(), today()).await;
    let of = |app: &str, company: Option<&str>, op: &str| {
        sum(&rows, |r| {
            r["application_id"] == app
                && r["company_id"].as_str() == company
                && r["operation"] == op
        })
    };
    let (a, b, sales, fiscal) = (
        w.a.as_str(),
        w.b.as_str(),
        w.sales.as_str(),
        w.fiscal.as_str(),
    );
    // Tokens issued: a call about no company.
    assert_eq!(of(sales, None, "auth.token"), 1, "{rows:?}");
    assert_eq!(of(fiscal, None, "auth.token"), 1);
    // Lists: one per company listed.
    assert_eq!(of(sales, Some(a), "companies.list"), 1);
    assert_eq!(of(fiscal, Some(a), "companies.list"), 1);
    assert_eq!(
        sum(&rows, |r| r["operation"] == "companies.list"),
        EXTRA as i64 + 3
    );
    assert_eq!(of(sales, Some(a), "companies.read"), 1);
    assert_eq!(of(fiscal, Some(a), "companies.read"), 1);
    assert_eq!(of(sales, Some(a), "omie_credentials.read"), 1);
    assert_eq!(of(sales, Some(a), "omie:ListarClientes"), 3);
    assert_eq!(of(sales, Some(b), "omie:ListarClientes"), 1);
    // Omie's block and the call it then stopped: failures on B.
    assert_eq!(of(sales, Some(b), "failed"), 2);
    // Refusals: the credentials read without scope on its own company; on the counter
    // without an id, the company not its own and the route applications may not use;
    // the bad body (refused before any use case) on the other application's counter.
    assert_eq!(of(fiscal, Some(a), "refused"), 1);
    assert_eq!(of(fiscal, None, "refused"), 2);
    assert_eq!(of(sales, None, "refused"), 1);
    // The sign-out.
    assert_eq!(of(fiscal, None, "POST /api/v1/auth/logout"), 1);
    // Nothing else: every call above, and only those, counted once.
    let calls = 2 + (EXTRA as i64 + 3) + 2 + 1 + 4 + 2 + 1 + 3 + 1;
    assert_eq!(sum(&rows, |_| true), calls, "{rows:?}");
}

#[tokio::test]
async fn the_report_shows_totals_top_lists_refusals_failures_and_pages() {
    let w = world().await;
    let rows = api_rows(&w.owner, today(), today()).await;
    let total = sum(&rows, |_| true);
    let refused = sum(&rows, |r| r["operation"] == "refused");
    let failed = sum(&rows, |r| r["operation"] == "failed");
    let b = owner_browser(&w.s).await;
    let page = b.get("/admin/usage?periodo=hoje").await;
    assert_eq!(page.status, 200);
    let p = page.body.as_str();
    assert_eq!(card(p, "total-calls"), int_br(total));
    assert_eq!(card(p, "total-refused"), refused.to_string());
    assert_eq!(card(p, "total-failed"), failed.to_string());
    // Refusals and failures stand out.
    assert!(
        p.contains("class=\"card card-warn\" id=\"total-refused\""),
        "{p}"
    );
    assert!(
        p.contains("class=\"card card-bad\" id=\"total-failed\""),
        "{p}"
    );
    assert!(
        p.contains(&format!("em {}", br(today()))),
        "the period in words"
    );

    // By company: A first (list, reads, credentials, proxy, a refusal = 9), then B
    // (list, proxy, two failures = 4), then ten at most and "outras N".
    let companies = table(p, "top-companies");
    let a_at = companies.find("Padaria Pão Quente").unwrap();
    let b_at = companies.find("Oficina Belém").unwrap();
    assert!(a_at < b_at, "{companies}");
    assert_eq!(companies.matches("<tr>").count(), 1 + 10, "{companies}");
    assert!(
        companies.contains("<td>outras 37</td><td data-label=\"Chamadas\">37</td>"),
        "47 companies called: 10 shown, 37 summed: {companies}"
    );
    assert!(companies.contains("<td data-label=\"Falhas\" class=\"bad\">2</td>"));
    assert!(
        companies.contains("Sem empresa"),
        "tokens and refusals counters"
    );
    // By application: "Robô de Vendas" first; by operation, in words.
    let apps = table(p, "top-applications");
    assert!(apps.find("Robô de Vendas").unwrap() < apps.find("Painel Fiscal").unwrap());
    let ops = table(p, "top-operations");
    for label in [
        "Lista de empresas",
        "Omie: ListarClientes",
        "Emissão de token de acesso",
        "Recusada",
        "Falha (Omie ou servidor)",
        "Leitura das credenciais do Omie",
        "Encerramento do token",
    ] {
        assert!(ops.contains(label), "{label} in {ops}");
    }
    assert!(!ops.contains("companies.list"), "no codes: {ops}");

    // The chart: axes with labelled ticks, today's date as dd/mm, a title.
    assert!(p.contains(
        "<svg class=\"chart usage\" role=\"img\" aria-labelledby=\"chart-title chart-desc\""
    ));
    assert!(p.contains(&format!(
        "<title id=\"chart-title\">Chamadas por dia, de {0} a {0}</title>",
        br(today())
    )));
    assert!(p.contains(&format!(">{}</text>", today().format("%d/%m"))));
    assert!(p.contains("class=\"y\" x=\"44\"") && p.contains(">0</text>"));

    // The rows come 50 a page: more rows than that make a second page.
    let all_rows = rows.len();
    assert!(all_rows > 50, "{all_rows}");
    let detail = table(p, "usage-rows");
    assert_eq!(detail.matches("<tr>").count(), 1 + 50);
    assert!(p.contains("página 1 de 2"), "{p}");
    assert!(p.contains("href=\"/admin/usage?periodo=hoje&#38;pagina=2\" rel=\"next\""));
    let second = b.get("/admin/usage?periodo=hoje&pagina=2").await.body;
    assert_eq!(
        table(&second, "usage-rows").matches("<tr>").count(),
        1 + all_rows - 50
    );
    // A page number past the end shows no rows and the way back, not an error.
    let past = b.get("/admin/usage?periodo=hoje&pagina=99").await;
    assert_eq!(past.status, 200);
    assert!(
        past.body
            .contains("Esta página não tem linhas. <a href=\"/admin/usage?periodo=hoje\">")
    );
    // The page stays small: no more than 50 rows and 10 lines a list, whatever the volume.
    assert!(p.len() < 120_000, "{} bytes", p.len());
}

#[tokio::test]
async fn presets_custom_periods_and_the_pickers_by_name() {
    let w = world().await;
    let b = owner_browser(&w.s).await;
    let today = today();
    let rows = api_rows(&w.owner, today, today).await;
    let total = int_br(sum(&rows, |_| true));
    // Every preset includes today, in São Paulo days; the chosen one is marked.
    for (preset, from) in [
        ("hoje", today),
        ("7dias", today - Duration::days(6)),
        ("30dias", today - Duration::days(29)),
        (
            "mes",
            NaiveDate::from_ymd_opt(
                chrono::Datelike::year(&today),
                chrono::Datelike::month(&today),
                1,
            )
            .unwrap(),
        ),
    ] {
        let p = b.get(&format!("/admin/usage?periodo={preset}")).await.body;
        assert_eq!(card(&p, "total-calls"), total, "{preset}");
        assert!(
            p.contains(&format!(
                "href=\"/admin/usage?periodo={preset}\" aria-current=\"page\""
            )),
            "{preset}"
        );
        let words = if from == today {
            format!("em {}", br(today))
        } else {
            format!("de {} a {}", br(from), br(today))
        };
        assert!(p.contains(&words), "{preset}: {words}");
    }
    // No period asked: the last 30 days.
    let p = b.get("/admin/usage").await.body;
    assert!(p.contains("href=\"/admin/usage?periodo=30dias\" aria-current=\"page\""));
    // A custom period before any call, typed the Brazilian way: nothing in it.
    let (from, to) = (today - Duration::days(20), today - Duration::days(10));
    let p = b
        .get(&format!(
            "/admin/usage?periodo=personalizado&from={}&to={}",
            br(from),
            br(to)
        ))
        .await
        .body;
    assert_eq!(card(&p, "total-calls"), "0");
    assert!(p.contains(&format!("de {} a {}", br(from), br(to))), "{p}");
    assert!(p.contains(&format!("name=\"from\" value=\"{}\"", iso(from))));
    assert!(p.contains("Nenhuma chamada no período."));
    // A period of years is cut to 366 days, and says so.
    let p = b
        .get("/admin/usage?periodo=personalizado&from=2001-01-01&to=2026-12-31")
        .await
        .body;
    assert!(
        p.contains("O período foi limitado aos últimos 366 dias"),
        "{p}"
    );

    // The filter form asks for names: a search box for the company and a list of
    // application names; no field where a person would type an id.
    let p = b.get("/admin/usage?periodo=hoje").await.body;
    assert!(p.contains("<input type=\"search\" name=\"busca\""));
    let picker = &p[p.find("id=\"application-pick\"").unwrap()..];
    let picker = &picker[..picker.find("</select>").unwrap()];
    assert!(picker.contains(&format!(
        "<option value=\"{}\">Painel Fiscal</option>",
        w.fiscal
    )));
    assert!(picker.find("Painel Fiscal").unwrap() < picker.find("Robô de Vendas").unwrap());
    for (i, _) in p.match_indices("name=\"company_id\"") {
        let tag = &p[p[..i].rfind('<').unwrap()..i];
        assert!(
            tag.contains("type=\"hidden\"") || tag.starts_with("<select"),
            "{tag}"
        );
    }
    for (i, _) in p.match_indices("name=\"application_id\"") {
        let tag = &p[p[..i].rfind('<').unwrap()..i];
        assert!(
            tag.contains("type=\"hidden\"") || tag.starts_with("<select"),
            "{tag}"
        );
    }
    // Searching by part of a name with one match picks that company.
    let p = b.get("/admin/usage?periodo=hoje&busca=padaria").await.body;
    assert!(
        p.contains("Empresa: <strong>Padaria Pão Quente</strong>"),
        "{p}"
    );
    let only_a = sum(&rows, |r| r["company_id"] == w.a.as_str());
    assert_eq!(card(&p, "total-calls"), int_br(only_a));
    assert!(p.contains(&format!("name=\"company_id\" value=\"{}\"", w.a)));
    // Several matches: a list of their names to choose from.
    let p = b.get("/admin/usage?periodo=hoje&busca=cliente").await.body;
    assert!(
        p.contains("Escolha a empresa <select name=\"company_id\""),
        "{p}"
    );
    assert!(p.contains(">Cliente 00 ("));
    // The application picked by its id from the list keeps the period.
    let p = b
        .get(&format!(
            "/admin/usage?periodo=hoje&application_id={}",
            w.fiscal
        ))
        .await
        .body;
    let fiscal_total = sum(&rows, |r| r["application_id"] == w.fiscal.as_str());
    assert_eq!(card(&p, "total-calls"), int_br(fiscal_total));
    assert!(p.contains(&format!(
        "<option value=\"{}\" selected>Painel Fiscal</option>",
        w.fiscal
    )));
    // Clicking a company in the top list filters by it (the link carries its id).
    let p = b.get("/admin/usage?periodo=hoje").await.body;
    assert!(p.contains(&format!(
        "<a href=\"/admin/usage?periodo=hoje&#38;company_id={}\">Oficina Belém</a>",
        w.b
    )));
}

#[tokio::test]
async fn the_download_is_a_csv_brazilian_excel_opens() {
    let w = world().await;
    let b = owner_browser(&w.s).await;
    let p = b.get("/admin/usage?periodo=hoje").await.body;
    assert!(p.contains("href=\"/admin/usage.csv?periodo=hoje\""), "{p}");
    let r = b
        .http
        .get(format!("{}/admin/usage.csv?periodo=hoje", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let day = today().format("%d-%m-%Y");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"uso-da-api-{day}-a-{day}.csv\"")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.starts_with("Dia;Empresa;Aplicação;Operação;Chamadas\r\n"),
        "{text}"
    );
    let d = br(today());
    for line in [
        format!("{d};Padaria Pão Quente;Robô de Vendas;Omie: ListarClientes;3\r\n"),
        format!("{d};Oficina Belém;Robô de Vendas;Falha (Omie ou servidor);2\r\n"),
        format!("{d};Sem empresa;Painel Fiscal;Emissão de token de acesso;1\r\n"),
        format!("{d};Fora das empresas da aplicação;Painel Fiscal;Recusada;2\r\n"),
    ] {
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    // One line per API row of the same period, and the same total.
    let rows = api_rows(&w.owner, today(), today()).await;
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), rows.len());
    let csv_total: i64 = lines
        .iter()
        .map(|l| l.rsplit(';').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(csv_total, sum(&rows, |_| true));
    // The API's CSV stays the machine format.
    let api_csv = reqwest::Client::new()
        .get(w.s.url("/api/v1/reports/usage?format=csv"))
        .bearer_auth(&w.owner.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(api_csv.starts_with("date,company_id,application_id,operation,count,"));
}

/// The portal's report: a company admin sees only the company's usage, with no company
/// picker and no list of companies.
#[tokio::test]
async fn a_company_admin_sees_only_the_own_company() {
    let w = world().await;
    let (st, v) = w
        .owner
        .post(
            &format!("/api/v1/companies/{}/users", w.a),
            json!({"name": "Ana Administradora", "email": "ana@padaria.com.br",
                   "role": "company_admin", "password": "cavalo bateria grampo 2"}),
        )
        .await;
    assert!(st < 300, "{v}");
    let b = w.s.browser();
    b.login_to("ana@padaria.com.br", "cavalo bateria grampo 2", "/portal")
        .await;
    let p = b.get("/portal/usage?periodo=hoje").await.body;
    let rows = api_rows(&w.owner, today(), today()).await;
    let only_a = sum(&rows, |r| r["company_id"] == w.a.as_str());
    assert_eq!(card(&p, "total-calls"), int_br(only_a), "{p}");
    assert!(!p.contains("id=\"top-companies\"") && !p.contains("name=\"busca\""));
    assert!(!p.contains("Oficina Belém") && !p.contains("Cliente 00"));
    let picker = &p[p.find("id=\"application-pick\"").unwrap()..];
    assert!(picker.contains("Painel Fiscal") && picker.contains("Robô de Vendas"));
    // Another company's id in the query changes nothing.
    let p = b
        .get(&format!("/portal/usage?periodo=hoje&company_id={}", w.b))
        .await
        .body;
    assert_eq!(card(&p, "total-calls"), int_br(only_a));
}

/// In a real browser, at a laptop's and at a phone's width: the report's totals are
/// the API's for the same period, and the page fits the phone.
#[tokio::test]
async fn the_report_matches_the_api_in_a_browser_at_1366_and_390_px() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let w = world().await;
    sign_in(&d, &w.s, OWNER_EMAIL, OWNER_PASSWORD, "Visão geral").await;
    let week = today() - Duration::days(6);
    let rows = api_rows(&w.owner, week, today()).await;
    let total = sum(&rows, |_| true);
    let refused = sum(&rows, |r| r["operation"] == "refused");
    let failed = sum(&rows, |r| r["operation"] == "failed");
    let text = |id: &'static str| {
        let d = &d;
        async move {
            d.script(&format!(
                "return document.querySelector('#{id} .num').textContent;"
            ))
            .await
            .as_str()
            .unwrap()
            .to_string()
        }
    };
    for phone in [false, true] {
        if phone {
            d.phone().await;
        } else {
            d.laptop().await;
        }
        d.goto(&w.s.url("/admin/usage")).await;
        d.wait_for("Chamadas por dia").await;
        // The preset a person taps.
        d.tap("nav.presets a[href='/admin/usage?periodo=7dias']")
            .await;
        d.wait_for("aria-current=\"page\">7 dias").await;
        assert_eq!(text("total-calls").await, int_br(total));
        assert_eq!(text("total-refused").await, int_br(refused));
        assert_eq!(text("total-failed").await, int_br(failed));
        // The chart is drawn within the window, with its title for screen readers.
        let width = d
            .script(
                "return document.querySelector('svg.chart.usage').getBoundingClientRect().width;",
            )
            .await
            .as_f64()
            .unwrap();
        assert!(width > 300.0 && width <= 640.0, "{width}");
        assert_eq!(d.overflow().await, None, "phone: {phone}");
        // Picking the application by its name in the list.
        d.script(&format!(
            "document.querySelector('#application-pick').value = '{}';",
            w.fiscal
        ))
        .await;
        d.tap("#pick button[type=submit]").await;
        d.wait_for_url("application_id=").await;
        d.wait_for("Chamadas por dia").await;
        let fiscal = sum(&rows, |r| r["application_id"] == w.fiscal.as_str());
        assert_eq!(text("total-calls").await, int_br(fiscal));
        assert!(
            d.url().await.contains("periodo=7dias"),
            "the period is kept"
        );
    }
}

//! Issue 12, item 6: people and applications pages for people — the Usuários page split
//! into decisions and the list, a person's page, names in Portuguese order, linking an
//! application by picking the company, and confirmations for destructive buttons.

use serde_json::json;

use crate::common::{Api, Browser, OWNER_EMAIL, OWNER_PASSWORD, Server, cnpj_from};

const PW: &str = "senha da empresa bem longa";

async fn company(api: &Api, name: &str, n: u64) -> String {
    let (st, c) = api
        .post(
            "/api/v1/companies",
            json!({"legal_name": name, "cnpj": cnpj_from(n)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn person(api: &Api, company: &str, name: &str, email: &str, role: &str) -> String {
    let (st, u) = api
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": name, "email": email, "role": role, "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

/// A sign-up for the CNPJ number `n`: a pending person (whose id this returns) when a
/// company has it, else a request for an unknown CNPJ (and "").
async fn sign_up(s: &Server, n: u64, name: &str, email: &str) -> String {
    let p = s
        .browser()
        .submit(
            "/signup",
            "/signup",
            &[
                ("cnpj", &cnpj_from(n)),
                ("name", name),
                ("email", email),
                ("password", PW),
                ("password_confirm", PW),
            ],
        )
        .await;
    assert!(p.status == 200 || p.status == 303, "{}", p.body);
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .unwrap_or_default()
}

fn status_of(s: &Server, id: &str) -> String {
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT status FROM users WHERE id = ?1", [id], |r| r.get(0))
        .unwrap()
}

async fn owner(s: &Server) -> Browser {
    let b = s.browser();
    b.login(OWNER_EMAIL, OWNER_PASSWORD).await;
    b
}

/// The owner's Usuários page puts what needs a decision (sign-ups, requests for an
/// unknown CNPJ) first, apart from the list of people; names link to each person's
/// page; row actions are one button plus "Mais ações"; the roles are explained.
#[tokio::test]
async fn the_users_page_puts_decisions_first_and_explains_roles() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let c = company(&api, "Padaria Pão Quente Ltda", 11).await;
    let ana = person(&api, &c, "Ana Souza", "ana@padaria.com.br", "company_user").await;
    let joana = sign_up(&s, 11, "Joana Pendente", "joana@padaria.com.br").await;
    sign_up(&s, 12, "Pedro Novo", "pedro@nova.com.br").await;
    let b = owner(&s).await;
    let page = b.get("/admin/users").await.body;
    let decisions = page
        .find("Aguardando sua decisão")
        .expect("a decisions section");
    let list = page.find("<h2>Pessoas</h2>").expect("then the people");
    assert!(decisions < list);
    let pending_at = page.find("Joana Pendente").unwrap();
    let request_at = page.find("Pedro Novo").unwrap();
    assert!(
        pending_at < list && request_at < list,
        "both wait above the list"
    );
    assert!(
        !page[list..].contains("Joana Pendente"),
        "a pending sign-up is not repeated in the list"
    );
    assert!(page.contains(&format!("href=\"/admin/users/{ana}\">Ana Souza</a>")));
    assert!(page.contains(&format!("href=\"/admin/users/{joana}\">Joana Pendente</a>")));
    assert!(page.contains("<summary>Mais ações</summary>"));
    assert!(page.contains("O que cada papel pode fazer"));
    for words in [
        "Administrador da empresa: no portal",
        "Usuário da empresa: no portal, só vê",
        "Equipe: trabalha no painel",
        "Dono do painel",
    ] {
        assert!(page.contains(words), "{words}");
    }
    // The decision is still one click away, with the role picker explained.
    assert!(page.contains(&format!("/admin/users/{joana}/approve")));
    assert!(page.contains("aria-describedby=\"papeis\""));
}

/// A person's page: names (company by name, linked), role in words, status, last
/// sign-in, second factor, sessions, invitations sent, recent history; a company admin
/// reads only their own company's people, any other person is "not found".
#[tokio::test]
async fn a_persons_page_shows_names_and_only_what_the_reader_may_see() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let a = company(&api, "Padaria Pão Quente Ltda", 21).await;
    let other = company(&api, "Oficina Beta Ltda", 22).await;
    let admin_a = person(
        &api,
        &a,
        "Carla Admin",
        "carla@padaria.com.br",
        "company_admin",
    )
    .await;
    let ana = person(&api, &a, "Ana Souza", "ana@padaria.com.br", "company_user").await;
    let beto = person(
        &api,
        &other,
        "Beto Outro",
        "beto@oficina.com.br",
        "company_user",
    )
    .await;
    let b = owner(&s).await;
    // Something in Ana's history: the owner makes her an admin and back.
    let r = b
        .submit(
            &format!("/admin/users/{ana}"),
            &format!("/admin/users/{ana}/role"),
            &[("role", "company_admin"), ("back", "person")],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/admin/users/{ana}").as_str())
    );
    let page = b.get(&format!("/admin/users/{ana}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body;
    for want in [
        "<h1>Ana Souza</h1>",
        "ana@padaria.com.br",
        &format!("<a href=\"/admin/companies/{a}\">Padaria Pão Quente Ltda</a>"),
        "Administrador da empresa",
        "aprova e cuida das pessoas dela",
        "Ativo",
        "Nunca entrou",
        "Verificação em duas etapas",
        "Desligada",
        &format!("/admin/users/{ana}/sessions"),
        "Convites enviados em aberto",
        "Histórico recente",
        &format!("/admin/users/{ana}/disable"),
        &format!("/admin/users/{ana}/anonymize"),
    ] {
        assert!(body.contains(want), "{want}: {body}");
    }
    assert!(
        !body.contains(&format!(">{a}")) && !body.contains(&format!("{a}<")),
        "no company id shown as text"
    );
    // The company admin: their own people yes, another company's no.
    let admin = s.browser();
    admin.login_to("carla@padaria.com.br", PW, "/portal").await;
    let mine = admin.get(&format!("/portal/users/{ana}")).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.contains("<h1>Ana Souza</h1>"));
    assert!(mine.body.contains("Padaria Pão Quente Ltda"));
    assert!(
        !mine.body.contains("/admin/"),
        "no dashboard links in the portal"
    );
    assert_eq!(
        admin.get(&format!("/portal/users/{beto}")).await.status,
        404
    );
    assert_eq!(
        admin.get(&format!("/admin/users/{beto}")).await.status / 100,
        3
    );
    let own_list = admin.get("/portal/users").await.body;
    assert!(own_list.contains(&format!("href=\"/portal/users/{ana}\">Ana Souza</a>")));
    assert!(!own_list.contains("Beto Outro"));
    let _ = admin_a;
}

/// People are listed in Portuguese order: "Álvaro" sits with "Alvaro", before "Bruno",
/// on every page of the list.
#[tokio::test]
async fn people_are_listed_in_portuguese_order() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let c = company(&api, "Padaria Pão Quente Ltda", 31).await;
    for (name, email) in [
        ("Bruno Lima", "bruno@p.com.br"),
        ("Álvaro Dias", "alvaro.d@p.com.br"),
        ("alvaro Castro", "alvaro.c@p.com.br"),
        ("Érica Melo", "erica@p.com.br"),
        ("Eduardo Reis", "eduardo@p.com.br"),
    ] {
        person(&api, &c, name, email, "company_user").await;
    }
    let b = owner(&s).await;
    let page = b.get(&format!("/admin/users?company_id={c}")).await.body;
    let at = |n: &str| page.find(n).unwrap_or_else(|| panic!("{n}"));
    let order = [
        at("alvaro Castro"),
        at("Álvaro Dias"),
        at("Bruno Lima"),
        at("Eduardo Reis"),
        at("Érica Melo"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // The API's list of a company's people follows the same order, page after page.
    let (st, first) = api
        .get(&format!("/api/v1/companies/{c}/users?limit=2"))
        .await;
    assert_eq!(st, 200, "{first}");
    let names = |v: &serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["alvaro Castro", "Álvaro Dias"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = api
        .get(&format!(
            "/api/v1/companies/{c}/users?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(names(&second), ["Bruno Lima", "Eduardo Reis"]);
    // Every row has its key (filled when written, or at start for older rows).
    assert_eq!(
        s.count("SELECT COUNT(*) FROM users WHERE sort_key = '' "),
        0,
        "every row has its key"
    );
}

/// *Recusar* and *Desativar* need their confirmation: without JavaScript the plain POST
/// without the ticked box changes nothing and says why in Portuguese; with it, it works.
#[tokio::test]
async fn refusing_and_disabling_need_the_confirmation() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let c = company(&api, "Padaria Pão Quente Ltda", 41).await;
    let ana = person(&api, &c, "Ana Souza", "ana@padaria.com.br", "company_user").await;
    let joana = sign_up(&s, 41, "Joana Pendente", "joana@padaria.com.br").await;
    sign_up(&s, 42, "Pedro Novo", "pedro@nova.com.br").await;
    let request: String = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row("SELECT id FROM company_requests", [], |r| r.get(0))
        .unwrap();
    let b = owner(&s).await;
    // The forms carry the box, so that without JavaScript the person ticks it.
    let page = b.get("/admin/users").await.body;
    assert!(page.contains("name=\"confirm\" value=\"sim\" required"));
    for (action, id) in [
        (format!("/admin/users/{joana}/reject"), joana.clone()),
        (format!("/admin/users/{ana}/disable"), ana.clone()),
    ] {
        let r = b.submit("/admin/users", &action, &[]).await;
        assert_eq!(r.status, 303);
        let shown = b.get(r.location.as_deref().unwrap()).await.body;
        assert!(
            shown.contains("Nada foi feito") && shown.contains("marque a caixa de confirmação"),
            "{shown}"
        );
        let want = if id == joana { "pending" } else { "active" };
        assert_eq!(status_of(&s, &id), want, "{action}: nothing changed");
    }
    let r = b
        .submit(
            "/admin/users",
            &format!("/admin/users/{request}/refuse"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM company_requests WHERE status = 'pending'"),
        1
    );
    // Confirmed, each happens.
    b.submit(
        "/admin/users",
        &format!("/admin/users/{joana}/reject"),
        &[("confirm", "sim")],
    )
    .await;
    assert_eq!(status_of(&s, &joana), "disabled");
    let r = b
        .submit(
            &format!("/admin/users/{ana}"),
            &format!("/admin/users/{ana}/disable"),
            &[("confirm", "sim"), ("back", "person")],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/admin/users/{ana}").as_str())
    );
    assert_eq!(status_of(&s, &ana), "disabled");
    b.submit(
        "/admin/users",
        &format!("/admin/users/{request}/refuse"),
        &[("confirm", "sim")],
    )
    .await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM company_requests WHERE status = 'pending'"),
        0
    );
}

/// An application is linked to a company by picking it from a search by name or CNPJ
/// (no CNPJ typed into the link form): the page lists the matches, each with
/// "Vincular"; the page then names the company and explains the scopes in words.
/// *Desligar* needs its confirmation like the other destructive buttons.
#[tokio::test]
async fn an_application_is_linked_by_picking_the_company_from_a_search() {
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let padaria = company(&api, "Padaria Pão Quente Ltda", 51).await;
    company(&api, "Oficina Beta Ltda", 52).await;
    let (st, app) = api
        .post("/api/v1/applications", json!({"name": "Robô de notas"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let app_id = app["id"].as_str().unwrap().to_string();
    let page = format!("/admin/applications/{app_id}");
    let b = owner(&s).await;
    let before = b.get(&page).await.body;
    assert!(
        before.contains("name=\"empresa\""),
        "a search by name or CNPJ"
    );
    assert!(
        before.contains("Ler as credenciais do Omie da empresa"),
        "scopes in words"
    );
    // By name, without accents typed: only the padaria, with its "Vincular".
    let found = b
        .get(&format!(
            "{page}?empresa=pao+quente&scopes=companies%3Aread&scopes=omie_credentials%3Aread"
        ))
        .await
        .body;
    assert!(found.contains("Padaria Pão Quente Ltda"), "{found}");
    assert!(!found.contains("Oficina Beta Ltda"));
    assert!(found.contains(&format!("name=\"company_id\" value=\"{padaria}\"")));
    assert!(found.contains(">Vincular</button>"));
    // By CNPJ, masked as people type it.
    let cnpj = cnpj_from(51);
    let masked = format!(
        "{}.{}.{}/{}-{}",
        &cnpj[0..2],
        &cnpj[2..5],
        &cnpj[5..8],
        &cnpj[8..12],
        &cnpj[12..14]
    );
    let by_cnpj = b
        .get(&format!("{page}?empresa={}", masked.replace('/', "%2F")))
        .await
        .body;
    assert!(by_cnpj.contains("Padaria Pão Quente Ltda"), "{by_cnpj}");
    let nothing = b.get(&format!("{page}?empresa=inexistente")).await.body;
    assert!(nothing.contains("Nenhuma empresa ativa encontrada"));
    // "Vincular": the form as the page wrote it, no CNPJ in it.
    let r = b
        .submit(
            &page,
            &format!("{page}/link"),
            &[
                ("company_id", padaria.as_str()),
                ("scopes", "companies:read"),
                ("scopes", "omie_credentials:read"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let shown = b.get(&page).await.body;
    assert!(
        shown.contains("Aplicação vinculada à empresa Padaria Pão Quente Ltda"),
        "{shown}"
    );
    assert!(shown.contains(&format!(
        "<a href=\"/admin/companies/{padaria}\">Padaria Pão Quente Ltda</a>"
    )));
    assert!(shown.contains("Ler os dados cadastrais da empresa"));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM application_links WHERE scopes = 'companies:read omie_credentials:read'"),
        1
    );
    // A made-up company id links nothing.
    let r = b
        .submit(
            &page,
            &format!("{page}/link"),
            &[
                ("company_id", "cmp_naoexiste"),
                ("scopes", "companies:read"),
            ],
        )
        .await;
    assert!(r.status == 404 || r.status == 303, "{}", r.status);
    assert_eq!(s.count("SELECT COUNT(*) FROM application_links"), 1);
    // Desligar without the confirmation: nothing changes, and the page says why.
    let r = b
        .submit(
            &page,
            &format!("{page}/unlink"),
            &[("target", padaria.as_str())],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(b.get(&page).await.body.contains("Nada foi feito"));
    assert_eq!(s.count("SELECT COUNT(*) FROM application_links"), 1);
    b.submit(
        &page,
        &format!("{page}/unlink"),
        &[("target", padaria.as_str()), ("confirm", "sim")],
    )
    .await;
    assert_eq!(s.count("SELECT COUNT(*) FROM application_links"), 0);
}

/// In a real Chromium, at a laptop's 1366 px and a phone's 390 px: on Usuários the owner
/// presses *Recusar* and a dialog of the page opens (a `<dialog open>`, not the
/// browser's alert); *Cancelar* and Esc change nothing and give the focus back;
/// *Confirmar* refuses. Then the owner links an application to a company by searching
/// its name and pressing *Vincular*.
#[tokio::test]
async fn the_owner_refuses_in_a_page_dialog_and_links_an_app_by_name_in_a_browser() {
    use crate::browser::{Driver, sign_in};
    let s = Server::start();
    s.create_owner();
    let api = s.api(&s.token().await);
    let companies = [
        company(&api, "Padaria Pão Quente Ltda", 61).await,
        company(&api, "Oficina Beta Ltda", 62).await,
    ];
    let (st, app) = api
        .post("/api/v1/applications", json!({"name": "Robô de notas"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let app_id = app["id"].as_str().unwrap().to_string();
    let people = [
        sign_up(&s, 61, "Joana Lima", "joana@padaria.com.br").await,
        sign_up(&s, 62, "Marcos Reis", "marcos@oficina.com.br").await,
    ];
    let Some(d) = Driver::start().await else {
        return;
    };
    d.laptop().await;
    sign_in(&d, &s, OWNER_EMAIL, OWNER_PASSWORD, "Visão geral").await;
    let searches = ["pão quente", "Oficina Beta"];
    let names = ["Joana Lima", "Marcos Reis"];
    for (i, width) in ["laptop", "phone"].into_iter().enumerate() {
        if width == "phone" {
            d.phone().await;
        }
        let id = &people[i];
        let form = format!("form[action='/admin/users/{id}/reject']");
        d.goto(&s.url("/admin/users")).await;
        d.wait_for("Aguardando sua decisão").await;
        assert_eq!(d.overflow().await, None, "{width}");
        d.tap(&format!("details.more:has({form}) > summary")).await;
        // Without JavaScript the box would be ticked by hand; with it, the dialog asks.
        let box_hidden = d
            .script(&format!(
                "return !document.querySelector(\"{form} input[name=confirm]\").checkVisibility();"
            ))
            .await;
        assert_eq!(box_hidden, true, "{width}: the box gives way to the dialog");
        let dialog_open = "const d = document.querySelector('dialog.confirm');
             return d !== null && d.open && d.hasAttribute('open')
                 && d.textContent.includes('Recusar o pedido de');";
        let focused_on_button = format!(
            "return document.activeElement === document.querySelector(\"{form} button[type=submit]\");"
        );
        // Cancelar: nothing changes, the focus is back on Recusar.
        d.tap(&format!("{form} button[type=submit]")).await;
        assert_eq!(
            d.script(dialog_open).await,
            true,
            "{width}: a <dialog open>"
        );
        let alert = d.cmd(reqwest::Method::GET, "/alert/text", None).await;
        assert_eq!(
            alert["error"], "no such alert",
            "{width}: no browser alert: {alert}"
        );
        d.tap("dialog.confirm button[value=cancel]").await;
        assert_eq!(
            d.script("return document.querySelector('dialog.confirm').open;")
                .await,
            false
        );
        assert_eq!(
            d.script(&focused_on_button).await,
            true,
            "{width}: focus returns"
        );
        assert_eq!(status_of(&s, id), "pending", "{width}: cancelled");
        // Esc: the same.
        d.tap(&format!("{form} button[type=submit]")).await;
        assert_eq!(d.script(dialog_open).await, true);
        d.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "teclado", "actions": [
                {"type": "keyDown", "value": "\u{E00C}"}, {"type": "keyUp", "value": "\u{E00C}"}]}]})),
        )
        .await;
        assert_eq!(
            d.script("return document.querySelector('dialog.confirm').open;")
                .await,
            false
        );
        assert_eq!(status_of(&s, id), "pending", "{width}: Esc cancels");
        // Confirmar: refused.
        d.tap(&format!("{form} button[type=submit]")).await;
        assert_eq!(d.script(dialog_open).await, true);
        d.tap("dialog.confirm button[value=ok]").await;
        d.wait_for(&format!("Pedido de {} recusado", names[i]))
            .await;
        assert_eq!(status_of(&s, id), "disabled", "{width}: refused");

        // Linking the application by searching the company's name.
        d.goto(&s.url(&format!("/admin/applications/{app_id}")))
            .await;
        d.type_into("input[name=empresa]", searches[i]).await;
        d.tap("form[role=search] button[type=submit]").await;
        d.wait_for("Empresas encontradas").await;
        assert_eq!(d.overflow().await, None, "{width}");
        d.tap(".search-results button[type=submit]").await;
        d.wait_for("Aplicação vinculada à empresa").await;
        assert_eq!(
            s.count(&format!(
                "SELECT COUNT(*) FROM application_links WHERE company_id = '{}'",
                companies[i]
            )),
            1,
            "{width}"
        );
        assert_eq!(d.overflow().await, None, "{width}");
    }
}

//! Company search through the in-memory index (issue 14): the index is built at start
//! and again whenever the companies changed, so a search right after a change (API,
//! command line, or an edit of the database behind the program's back) answers exactly as
//! SQL would. Each test warms the index with a search first, then changes a company.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server, cnpj_from};

async fn company(owner: &Api, name: &str, n: u64) -> String {
    let (st, c) = owner
        .post(
            "/api/v1/companies",
            json!({"legal_name": name, "cnpj": cnpj_from(n)}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// The ids of every page of a search, following the cursors.
async fn ids(owner: &Api, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let sep = if query.contains('?') { '&' } else { '?' };
        let (st, page) = owner
            .get(&format!("/api/v1/companies{query}{sep}limit=7{cursor}"))
            .await;
        assert_eq!(st, 200, "{page}");
        for c in page["items"].as_array().unwrap() {
            out.push(c["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

async fn world() -> (Server, Api, Vec<String>) {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let mut made = Vec::new();
    for i in 0..24u64 {
        // Out of name order, so creation order tells nothing about the page.
        let n = (i * 7) % 24;
        made.push(company(&owner, &format!("Padaria Pão {n:02} Ltda"), 100 + n).await);
    }
    // Warm: this search builds the index (if the start did not already).
    assert_eq!(ids(&owner, "?q=padaria").await.len(), 24);
    (s, owner, made)
}

#[tokio::test]
async fn a_renamed_company_is_found_by_its_new_name_and_not_its_old_right_after() {
    let (_s, owner, made) = world().await;
    let (st, c) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", made[3]),
            Some(json!({"legal_name": "Zeladoria Única"})),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(ids(&owner, "?q=zeladoria").await, [made[3].clone()]);
    assert_eq!(
        ids(&owner, "?q=Zeladoria%20%C3%BAnica").await,
        [made[3].clone()]
    );
    let padarias = ids(&owner, "?q=padaria").await;
    assert_eq!(padarias.len(), 23);
    assert!(!padarias.contains(&made[3]));
}

#[tokio::test]
async fn an_archived_company_leaves_the_search_at_once_and_comes_back_when_reactivated() {
    let (_s, owner, made) = world().await;
    let (st, _) = owner
        .send(
            Method::DELETE,
            &format!("/api/v1/companies/{}", made[5]),
            None,
        )
        .await;
    assert!(st == 200 || st == 204, "{st}");
    assert!(!ids(&owner, "?q=padaria").await.contains(&made[5]));
    assert_eq!(
        ids(&owner, "?q=padaria&status=archived").await,
        [made[5].clone()]
    );
    let (st, c) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/companies/{}", made[5]),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    assert!(ids(&owner, "?q=padaria").await.contains(&made[5]));
    assert_eq!(
        ids(&owner, "?q=padaria&status=archived").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_erased_company_leaves_the_search_at_once() {
    let (_s, owner, made) = world().await;
    let (st, c) = owner
        .post(
            &format!("/api/v1/companies/{}/anonymize", made[9]),
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    assert!(!ids(&owner, "?q=padaria").await.contains(&made[9]));
    assert_eq!(
        ids(&owner, "?q=padaria&status=archived").await,
        [made[9].clone()]
    );
}

/// The order and the cursors of a search are those of the full list (SQL, no search),
/// with the companies that match kept: names, a masked CNPJ fragment, one letter.
#[tokio::test]
async fn every_page_of_a_search_follows_the_lists_order() {
    let (_s, owner, made) = world().await;
    company(&owner, "Mercado Padre Cícero", 500).await;
    company(&owner, "Auto Peças Ltda", 501).await;
    let all: Vec<Value> = {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let (_, page) = owner
                .get(&format!("/api/v1/companies?limit=100{cursor}"))
                .await;
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break out,
            }
        }
    };
    assert_eq!(all.len(), made.len() + 2);
    let fold = |s: &str| {
        s.to_lowercase()
            .replace(['á', 'ã', 'â'], "a")
            .replace('í', "i")
            .replace('ç', "c")
            .replace('ú', "u")
    };
    let cnpj = cnpj_from(105);
    let masked = format!("{}.{}/{}", &cnpj[2..5], &cnpj[5..8], &cnpj[8..12]);
    for (q, test) in [
        ("pad", "pad".to_string()),
        ("ltda", "ltda".to_string()),
        ("p", "p".to_string()),
        ("pao%200", "pao 0".to_string()),
        (&masked[..], cnpj[2..12].to_string()),
        ("xyzzy", "xyzzy".to_string()),
    ] {
        let want: Vec<String> = all
            .iter()
            .filter(|c| {
                let text = fold(&format!(
                    "{}\u{1f}{}\u{1f}{}",
                    c["legal_name"].as_str().unwrap(),
                    c["trade_name"].as_str().unwrap(),
                    c["cnpj"].as_str().unwrap().replace(['.', '/', '-'], "")
                ));
                text.contains(&test)
            })
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids(&owner, &format!("?q={q}")).await, want, "q={q}");
    }
}

/// Another process changes the companies while the server runs: the command line (`demo`
/// into a database without companies), then a plain SQL edit. The next search sees each.
#[tokio::test]
async fn a_change_by_the_command_line_or_behind_the_programs_back_is_seen_by_the_next_search() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    assert_eq!(ids(&owner, "?q=ltda").await, Vec::<String>::new());
    let out = s.cli(&["demo", "--companies", "40"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, first) = owner.get("/api/v1/companies?limit=40").await;
    let first = first["items"].as_array().unwrap().clone();
    assert!(first.len() >= 30, "{}", first.len());
    let mut found = 0;
    for c in &first {
        let cnpj = c["cnpj"].as_str().unwrap().replace(['.', '/', '-'], "");
        let hits = ids(&owner, &format!("?q={}", &cnpj[..10])).await;
        assert!(
            hits.contains(&c["id"].as_str().unwrap().to_string()),
            "{cnpj}"
        );
        found += 1;
    }
    assert!(found >= 30);
    // An edit with sqlite3, say: the trigger of migration 0031 tells the server.
    let id = first[0]["id"].as_str().unwrap().to_string();
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute(
            "UPDATE companies SET legal_name = 'Quitanda Xavier',
                    search_text = 'quitanda xavier' || char(31) || char(31) || lower(cnpj),
                    sort_key = 'quitanda xavier' || char(31) || 'Quitanda Xavier'
             WHERE id = ?1",
            [&id],
        )
        .unwrap();
    assert_eq!(ids(&owner, "?q=quitanda").await, [id]);
}

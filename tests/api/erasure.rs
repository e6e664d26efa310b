//! Erasure (LGPD, DESIGN.md §8.3): anonymizing a person or a company leaves none of
//! their bytes in the live database files, keeps the audit chain verifiable, ends their
//! access, and survives restoring an older backup.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Server, cnpj_from};

const PW: &str = "senha comprida da pessoa";
const NAME: &str = "Zuleica Figueiredo Tavares";
const OLD_NAME: &str = "Zuleica F. Tavares";
const EMAIL: &str = "zuleica.tavares@apagar-exemplo.com.br";
const CONTACT: &str = "Hermenegildo Contato Pereira";
const CONTACT_EMAIL: &str = "hermenegildo@contato-apagar.com.br";
const CONTACT_PHONE: &str = "+5511987651234";

/// Which of `needles` occur, byte for byte, in the database file or its WAL.
fn found_in_files(db: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push(format!("{n} in {path}"));
            }
        }
    }
    found
}

async fn company(owner: &Api, n: u64, contact: bool) -> String {
    let mut body =
        json!({"legal_name": format!("Padaria Apagável {n} Ltda"), "cnpj": cnpj_from(n)});
    if contact {
        body["contact_name"] = json!(CONTACT);
        body["email"] = json!(CONTACT_EMAIL);
        body["phone"] = json!(CONTACT_PHONE);
    }
    let (st, c) = owner.post("/api/v1/companies", body).await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn person(owner: &Api, company: &str, email: &str, name: &str, role: &str) -> String {
    let (st, u) = owner
        .post(
            &format!("/api/v1/companies/{company}/users"),
            json!({"name": name, "email": email, "role": role, "password": PW}),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

async fn login(s: &Server, email: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn verify_ok(s: &Server) {
    let out = s.cli(&["audit", "verify"], None);
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Zuleica leaves traces everywhere: an account, a renamed name, a page session, an API
/// token, known addresses, audit rows with her e-mail and IP, mail to her.
async fn zuleica(s: &Server, owner: &Api, cid: &str) -> (String, String) {
    let uid = person(owner, cid, EMAIL, OLD_NAME, "company_admin").await;
    let (st, u) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{uid}"),
            Some(json!({"name": NAME})),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    let b = s.browser();
    b.login_to(EMAIL, PW, "/portal").await;
    let (st, t) = login(s, EMAIL).await;
    assert_eq!(st, 200, "{t}");
    let token = t["access_token"].as_str().unwrap().to_string();
    // She invites someone: a row about her in the invitations and the trail.
    let her = s.api(&token);
    let (st, inv) = her
        .post(
            &format!("/api/v1/companies/{cid}/users"),
            json!({"email": "convidado.da.zuleica@example.com.br"}),
        )
        .await;
    assert_eq!(st, 202, "{inv}");
    (uid, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_anonymized_person_is_in_no_byte_of_the_database_and_the_chain_verifies() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let cid = company(&owner, 71, false).await;
    let (uid, token) = zuleica(&s, &owner, &cid).await;
    let needles = [NAME, OLD_NAME, EMAIL];
    // The test can fail: before the erasure, she is in the files.
    assert!(!found_in_files(&s.db_path(), &needles).is_empty());

    let (st, u) = owner
        .post(&format!("/api/v1/users/{uid}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["status"], "anonymized");
    assert!(u["name"].as_str().unwrap().starts_with("Pessoa "), "{u}");
    assert!(!u.to_string().contains("Zuleica") && !u.to_string().contains("zuleica"));

    let left = found_in_files(&s.db_path(), &needles);
    assert!(left.is_empty(), "still in the files: {left:?}");
    verify_ok(&s);

    // She can no longer sign in, and her token is refused.
    assert_eq!(login(&s, EMAIL).await.0, 401);
    assert_eq!(s.api(&token).get("/api/v1/me").await.0, 401);
    // Her history remains, under the pseudonym, without her e-mail or address.
    let (st, trail) = owner.get(&format!("/api/v1/audit?actor={uid}")).await;
    assert_eq!(st, 200, "{trail}");
    let items = trail["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["action"] == "auth.login"), "{trail}");
    let pseudonym = u["name"].as_str().unwrap();
    for e in items {
        assert_eq!(e["actor_label"], pseudonym, "{e}");
        assert_eq!(e["ip"], "", "{e}");
    }
    let (_, all) = owner.get("/api/v1/audit?action=privacy.anonymize").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");

    // Anonymizing again changes nothing and says so.
    let (st, again) = owner
        .post(&format!("/api/v1/users/{uid}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["name"], u["name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_company_admin_anonymizes_its_own_companys_people_only() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let a = company(&owner, 72, false).await;
    let b = company(&owner, 73, false).await;
    person(&owner, &a, "admin.a@a.com.br", "Admin A", "company_admin").await;
    let user_a = person(&owner, &a, "user.a@a.com.br", "User A", "company_user").await;
    let user_b = person(&owner, &b, "user.b@b.com.br", "User B", "company_user").await;
    let admin_a = s.api(
        login(&s, "admin.a@a.com.br").await.1["access_token"]
            .as_str()
            .unwrap(),
    );
    let plain_a = s.api(
        login(&s, "user.a@a.com.br").await.1["access_token"]
            .as_str()
            .unwrap(),
    );

    // Another company's person: not found.
    let (st, _) = admin_a
        .post(&format!("/api/v1/users/{user_b}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 404);
    // A company user anonymizes nobody.
    let (me_id, _) = (
        plain_a.get("/api/v1/me").await.1["id"]
            .as_str()
            .unwrap()
            .to_string(),
        (),
    );
    let (st, _) = plain_a
        .post(&format!("/api/v1/users/{user_b}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 404);
    // Nobody anonymizes themselves here (that is a privacy request).
    let (st, _) = plain_a
        .post(&format!("/api/v1/users/{me_id}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 409);
    // Its own company's person: done.
    let (st, u) = admin_a
        .post(&format!("/api/v1/users/{user_a}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["status"], "anonymized");
    // The other company's person is untouched.
    let (_, ub) = owner.get(&format!("/api/v1/users/{user_b}")).await;
    assert_eq!(ub["status"], "active");
    // Only the owner anonymizes a company.
    let (st, _) = admin_a
        .post(&format!("/api/v1/companies/{a}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 403);
    verify_ok(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymizing_a_company_erases_its_contact_people_credentials_and_links() {
    let s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let cid = company(&owner, 74, true).await;
    let (uid, _) = zuleica(&s, &owner, &cid).await;
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/omie-credentials"),
            Some(json!({"app_key": "1724630275368", "app_secret": "9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, app) = owner
        .post("/api/v1/applications", json!({"name": "Robô do ERP"}))
        .await;
    assert_eq!(st, 201, "{app}");
    let app_id = app["id"].as_str().unwrap();
    let (st, _) = owner
        .send(
            Method::PUT,
            &format!("/api/v1/companies/{cid}/applications/{app_id}"),
            Some(json!({"scopes": ["companies:read"]})),
        )
        .await;
    assert!(st == 200 || st == 201);
    let needles = [NAME, EMAIL, CONTACT, CONTACT_EMAIL, CONTACT_PHONE];
    assert!(found_in_files(&s.db_path(), &needles).len() >= 4);

    let (_, before) = owner.get(&format!("/api/v1/companies/{cid}")).await;
    let (st, c) = owner
        .post(&format!("/api/v1/companies/{cid}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["status"], "archived");
    assert_eq!(c["legal_name"], before["legal_name"]);
    assert_eq!(c["cnpj"], before["cnpj"]);
    for f in ["contact_name", "email", "phone"] {
        assert!(c[f].is_null() || c[f] == "", "{f}: {c}");
    }
    let (_, u) = owner.get(&format!("/api/v1/users/{uid}")).await;
    assert!(
        u.is_null() || u["status"] == "anonymized" || u["status"] == 404,
        "{u}"
    );
    let (st, _) = owner
        .get(&format!("/api/v1/companies/{cid}/omie-credentials"))
        .await;
    assert_eq!(st, 404);
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let links: i64 = db
        .query_row(
            "SELECT count(*) FROM application_links WHERE company_id = ?1",
            [&cid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(links, 0);
    let status: String = db
        .query_row("SELECT status FROM users WHERE id = ?1", [&uid], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "anonymized");
    drop(db);
    let left = found_in_files(&s.db_path(), &needles);
    assert!(left.is_empty(), "still in the files: {left:?}");
    verify_ok(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erasure_survives_restoring_an_older_backup() {
    let mut s = Server::start();
    s.create_owner();
    let owner = s.api(&s.token().await);
    let cid = company(&owner, 75, false).await;
    let (uid, _) = zuleica(&s, &owner, &cid).await;
    let ended = company(&owner, 76, true).await;
    // An older copy of the database, made with SQLite's own backup (as a file copy
    // put back by hand would be), and a backup file made by the program.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("old.db");
    rusqlite::Connection::open(s.db_path())
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    let file = crate::backups::cli_backup(&s);

    let (st, _) = owner
        .post(&format!("/api/v1/users/{uid}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200);
    let (st, _) = owner
        .post(&format!("/api/v1/companies/{ended}/anonymize"), json!({}))
        .await;
    assert_eq!(st, 200);
    let ledger = std::fs::read_to_string(s.dir.path().join("erasures.ledger")).unwrap();
    assert!(
        ledger.contains(&uid) && !ledger.contains("uleica"),
        "{ledger}"
    );

    // Restore the backup from before the erasure, then start: she is still erased.
    s.kill9();
    let out = crate::common::command(s.dir.path(), &[])
        .arg("restore")
        .arg(&file)
        .arg("--force")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = found_in_files(
        &s.db_path(),
        &[NAME, EMAIL, CONTACT, CONTACT_EMAIL, CONTACT_PHONE],
    );
    assert!(left.is_empty(), "the restore brought back: {left:?}");
    s.restart();
    assert_eq!(login(&s, EMAIL).await.0, 401);
    verify_ok(&s);

    // A database file put back by hand: the server re-applies the erasure on start.
    s.kill9();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", s.db_path().display()));
    }
    std::fs::copy(&copy, s.db_path()).unwrap();
    assert!(!found_in_files(&s.db_path(), &[EMAIL]).is_empty());
    s.restart();
    let left = found_in_files(
        &s.db_path(),
        &[NAME, OLD_NAME, EMAIL, CONTACT, CONTACT_EMAIL],
    );
    assert!(left.is_empty(), "the start did not erase: {left:?}");
    assert_eq!(login(&s, EMAIL).await.0, 401);
    let owner = s.api(&s.token().await);
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.reapply").await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 2, "{trail}");
    // Started again, nothing is re-applied twice.
    s.restart();
    let owner = s.api(&s.token().await);
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.reapply").await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 2, "{trail}");
    verify_ok(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pages_anonymize_after_a_fresh_confirmation_of_who_asks() {
    let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "6")]);
    s.create_owner();
    let owner = s.api(&s.token().await);
    let cid = company(&owner, 77, true).await;
    let uid = person(&owner, &cid, EMAIL, NAME, "company_user").await;
    let other = person(
        &owner,
        &cid,
        "outra.pessoa@example.com.br",
        "Outra Pessoa",
        "company_user",
    )
    .await;
    let b = s.browser();
    b.login(crate::common::OWNER_EMAIL, crate::common::OWNER_PASSWORD)
        .await;

    // Just signed in: the person's page has the button, and it erases.
    let page = format!("/admin/users/{uid}/sessions");
    let p = b.get(&page).await;
    assert!(p.body.contains("Anonimizar esta pessoa"), "{}", p.body);
    let r = b
        .submit(&page, &format!("/admin/users/{uid}/anonymize"), &[])
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/users"), "{}", r.body);
    let (_, trail) = owner.get("/api/v1/audit?action=privacy.anonymize").await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail}");

    // Later, the same button first asks who is there, and erases nothing yet.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let page = format!("/admin/users/{other}/sessions");
    let r = b
        .submit(&page, &format!("/admin/users/{other}/anonymize"), &[])
        .await;
    let to = r.location.unwrap_or_default();
    assert!(to.starts_with("/admin/step-up?next="), "{to}");
    let (_, u) = owner.get(&format!("/api/v1/users/{other}")).await;
    assert_eq!(u["status"], "active");
    // The company page offers the end of contract to the owner, with the same step-up.
    let page = format!("/admin/companies/{cid}");
    let p = b.get(&page).await;
    assert!(p.body.contains("Anonimizar a empresa"), "{}", p.body);
    let r = b
        .submit(&page, &format!("/admin/companies/{cid}/anonymize"), &[])
        .await;
    assert!(
        r.location
            .unwrap_or_default()
            .starts_with("/admin/step-up?next="),
        "{}",
        r.body
    );
    let (_, c) = owner.get(&format!("/api/v1/companies/{cid}")).await;
    assert_eq!(c["contact_name"], CONTACT);
}

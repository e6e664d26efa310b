//! What one token check costs, with SQL (as before issue 14) and from the hot cache, in
//! this process on the database of `OTM_DATA_DIR` (a `demo` database: the server must
//! not be running on it). Run by `scripts/bench/hot_cache.sh`; prints microseconds.
//!
//! - person: `auth::resolve_token` and `mfa::must_enrol` with a pooled connection, against
//!   the token's SHA-256 and a cache lookup (with the server's `stat` of the epoch file);
//! - application: `live_token_until` with a pooled connection, against the cache;
//! - link: the company's status and the link's scopes, against the cache.

use std::time::Instant;

use anyhow::Context;
use omie_tenant_manager::config::Settings;
use omie_tenant_manager::crypto::{new_id, new_token, sha256_hex};
use omie_tenant_manager::db::{self, applications, companies, tokens};
use omie_tenant_manager::services::hot::{LinkEntry, PersonEntry};
use omie_tenant_manager::services::{auth, mfa};
use omie_tenant_manager::{startup, time};

const N: u32 = 20_000;

fn per_check(label: &str, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    for _ in 0..N / 10 {
        f()?;
    }
    let t = Instant::now();
    for _ in 0..N {
        f()?;
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    println!("{label:<34} {us:>8.2} µs per check");
    Ok(us)
}

fn main() -> anyhow::Result<()> {
    let settings = Settings::load(None)?;
    let opened = startup::open(&settings)?;
    let hot = &opened.keys.hot;
    hot.watch(&settings.data_dir);
    let pool = &opened.pool;

    // A person's token and an application's, as sign-in and the grant store them.
    let conn = pool.get()?;
    let owner = db::users::by_email(&conn, "dono@demo.example.com.br")?
        .context("no demo owner: run `demo` on this data dir first")?;
    let (now_t, person_token) = (time::now(), new_token());
    let now = time::to_db(now_t);
    let expires = time::to_db(now_t + chrono::Duration::hours(1));
    tokens::insert(
        &conn,
        &sha256_hex(person_token.as_bytes()),
        &owner.id,
        &now,
        &expires,
    )?;
    let app = applications::Application {
        id: new_id("app"),
        name: "Bench".into(),
        description: String::new(),
        client_id: new_id("cli"),
        status: omie_tenant_manager::domain::ApplicationStatus::Active,
        created_at: now.clone(),
        last_used_at: None,
    };
    applications::insert(&conn, &app, &now)?;
    let secret_id = new_id("sec");
    applications::insert_secret(&conn, &secret_id, &app.id, "x", "…x", &now)?;
    let app_token = new_token();
    let app_hash = sha256_hex(app_token.as_bytes());
    applications::insert_token(
        &conn,
        &app_hash,
        &app.id,
        &secret_id,
        "companies:read",
        &now,
        &expires,
    )?;
    let company: String = conn.query_row(
        "SELECT id FROM companies WHERE status = 'active' LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    applications::upsert_link(&conn, &app.id, &company, "companies:read", "bench", &now)?;
    drop(conn);

    let until = time::now() + chrono::Duration::hours(1);
    let sql = |e: omie_tenant_manager::error::AppError| anyhow::anyhow!("{e:?}");
    println!("{N} checks each");

    let off = per_check("person token, SQL", || {
        let conn = pool.get()?;
        let (p, _) = auth::resolve_token_until(&conn, &person_token)
            .map_err(sql)?
            .context("token refused")?;
        mfa::must_enrol(&conn, &settings, &p).map_err(sql)?;
        Ok(())
    })?;
    let p = auth::resolve_token_until(&*pool.get()?, &person_token)
        .map_err(sql)?
        .context("token refused")?
        .0;
    let entry = PersonEntry {
        principal: p,
        must_enrol: false,
    };
    hot.put_person(
        hot.ticket(),
        &sha256_hex(person_token.as_bytes()),
        entry,
        until,
    );
    let on = per_check("person token, hot cache", || {
        hot.person(&sha256_hex(person_token.as_bytes()))
            .context("not cached")?;
        Ok(())
    })?;
    println!("{:<34} {:>8.1}× cheaper", "", off / on);

    let off = per_check("application token, SQL", || {
        let conn = pool.get()?;
        applications::live_token_until(&conn, &sha256_hex(app_token.as_bytes()), &time::now_db())?
            .context("token refused")?;
        Ok(())
    })?;
    hot.put_application(
        hot.ticket(),
        &app_hash,
        (
            app.id.clone(),
            app.client_id.clone(),
            "companies:read".into(),
        ),
        until,
    );
    let on = per_check("application token, hot cache", || {
        hot.application(&sha256_hex(app_token.as_bytes()))
            .context("not cached")?;
        Ok(())
    })?;
    println!("{:<34} {:>8.1}× cheaper", "", off / on);

    let off = per_check("link check, SQL", || {
        let conn = pool.get()?;
        companies::get(&conn, &company)?.context("no company")?;
        applications::link_scopes(&conn, &app.id, &company)?.context("not linked")?;
        Ok(())
    })?;
    let e = LinkEntry {
        company: Some(omie_tenant_manager::domain::CompanyStatus::Active),
        scopes: Some("companies:read".into()),
    };
    hot.put_link(hot.ticket(), &app.id, &company, e);
    let on = per_check("link check, hot cache", || {
        hot.link(&app.id, &company).context("not cached")?;
        Ok(())
    })?;
    println!("{:<34} {:>8.1}× cheaper", "", off / on);
    Ok(())
}

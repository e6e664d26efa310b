//! An e-mail for every change, the way each person of the platform wants it (DESIGN
//! §8.4). Every audit row goes through `on_row` (installed as the store's append hook,
//! so no use case can forget it), in the transaction that appends it: for each active
//! owner or staff member other than whoever acted, by their choice for the action's
//! category (`domain::notify::notice`, the one table):
//!
//! - `immediate`: a mail is queued in the outbox and held there `OTM_NOTIFY_COALESCE_SECS`
//!   (default 120 s); a repeat of the same action on the same item for the same person
//!   while it is held rewrites that mail ("3 alterações: …") instead of queueing another;
//! - `daily`: the row's id is kept for the digest, one mail per person at
//!   `OTM_DIGEST_TIME` (`send_digests`);
//! - `off`: nothing.

use crate::db::Conn;
use std::sync::Arc;

use chrono::Duration;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, ActorKind, Keys};
use crate::config::Settings;
use crate::db::audit::Entry;
use crate::db::{self, app_settings, audit as audit_store, notify as store};
use crate::domain::notify::{Category, Choice, Mailing, Prefs, notice};
use crate::domain::{Action, Role};
use crate::email::{self, MailLine, NotifyMessage};
use crate::error::{AppError, FieldError};
use crate::keyring::Keyring;
use crate::time;

/// Where a person changes these choices.
pub const PAGE: &str = "/admin/profile/notifications";

/// Owner and staff have notifications; anyone else finds nothing here.
fn platform_person(actor: &Actor) -> Result<&str, AppError> {
    match (actor.role(), actor.user_id()) {
        (Some(Role::Owner | Role::Staff), Some(id)) => Ok(id),
        _ => Err(AppError::NotFound),
    }
}

/// Whether `actor` has notification choices at all (before reading what they send).
pub fn check(actor: &Actor) -> Result<(), AppError> {
    platform_person(actor).map(|_| ())
}

pub fn prefs(conn: &Connection, actor: &Actor) -> Result<Prefs, AppError> {
    let id = platform_person(actor)?;
    Ok(store::prefs(conn, id)?)
}

/// Changes some or all of the person's choices: `(category, choice)` as received. An
/// unknown category or choice is refused whole (422), naming the field.
pub fn update(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    changes: &[(String, String)],
) -> Result<Prefs, AppError> {
    let id = platform_person(actor)?.to_string();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (c, v) in changes {
        match (Category::parse(c), Choice::parse(v)) {
            (Some(c), Some(v)) => parsed.push((c, v)),
            (None, _) => errors.push(FieldError::new(
                &format!("categories.{c}"),
                "Categoria desconhecida: use security, approvals, changes ou system.",
            )),
            (Some(_), None) => errors.push(FieldError::new(
                &format!("categories.{c}"),
                "Escolha desconhecida: use immediate, daily ou off.",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        let mut p = store::prefs(tx, &id)?;
        for (c, v) in &parsed {
            p.set(*c, *v);
        }
        store::set_prefs(tx, &id, &p, &now)?;
        let mut entry = actor.entry(Action::NotifyPrefsUpdate, "user", Some(&id));
        entry.facts = json!(
            Category::ALL
                .iter()
                .map(|c| (c.as_str(), p.get(*c).as_str()))
                .collect::<std::collections::BTreeMap<_, _>>()
        );
        audit_store::append(tx, &keys.audit, &now, &entry)?;
        Ok(p)
    })
}

/// Installs `on_row` as the audit store's append hook.
pub fn install(keys: &Keys, settings: &Settings) {
    let ring = keys.ring.clone();
    let base = settings.base_url.clone();
    let window = settings.notify_coalesce_secs as i64;
    audit_store::on_append(Arc::new(move |conn, e| {
        on_row(conn, &ring, &base, window, e)
    }));
}

fn on_row(
    conn: &Connection,
    ring: &Keyring,
    base: &str,
    window: i64,
    e: &Entry,
) -> rusqlite::Result<()> {
    let Some(action) = Action::parse(&e.action) else {
        return Ok(());
    };
    let (category, mailing) = notice(action);
    if mailing != Mailing::Mailed {
        return Ok(());
    }
    for p in store::recipients(conn)? {
        // Nobody is mailed about their own action.
        if e.actor_id.as_deref() == Some(p.id.as_str()) || e.actor_label == p.email {
            continue;
        }
        // Nor about their own account (its creation by the command line, their role):
        // what matters there has a mail of its own (password, second factor, sign-in).
        if e.entity_type == "user" && e.entity_id.as_deref() == Some(p.id.as_str()) {
            continue;
        }
        match store::prefs(conn, &p.id)?.get(category) {
            Choice::Off => {}
            Choice::Daily => store::add_digest(conn, &p.id, e.id, &e.at)?,
            Choice::Immediate => {
                if let Err(err) = immediate(conn, ring, base, window, &p, e) {
                    // A mail that cannot be written must not undo the change itself.
                    tracing::error!(error = ?err, action = %e.action, "notification not queued");
                }
            }
        }
    }
    Ok(())
}

fn reader(p: &store::Recipient) -> Actor {
    Actor {
        kind: ActorKind::User {
            id: p.id.clone(),
            email: p.email.clone(),
            role: Role::parse(&p.role).unwrap_or(Role::Staff),
            company_id: None,
        },
        ip: String::new(),
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 alteração".to_string()
    } else {
        format!("{n} alterações")
    }
}

/// The rows as a person reads them (names, not ids; `services::history`).
fn mail_lines(
    conn: &Connection,
    p: &store::Recipient,
    rows: &[Entry],
) -> Result<(Vec<MailLine>, Vec<super::history::Line>), AppError> {
    let lines = super::history::lines(conn, &reader(p), rows)?;
    let out = lines
        .iter()
        .map(|l| {
            let mut text = format!("{}: {}", l.who, l.what);
            if !l.item.is_empty() {
                text.push_str(&format!(" — {}", l.item));
            }
            if !l.company.is_empty() {
                text.push_str(&format!(" ({})", l.company));
            }
            MailLine {
                when: l.at.clone(),
                text,
                changes: l.changes.clone(),
            }
        })
        .collect();
    Ok((out, lines))
}

fn link_for(base: &str, e: &Entry) -> String {
    match (e.entity_type.as_str(), &e.entity_id, &e.company_id) {
        ("company", Some(id), _) | (_, _, Some(id)) => format!("{base}/admin/companies/{id}"),
        _ => format!("{base}/admin/audit"),
    }
}

fn immediate(
    conn: &Connection,
    ring: &Keyring,
    base: &str,
    window: i64,
    p: &store::Recipient,
    e: &Entry,
) -> Result<(), AppError> {
    let now = time::parse_db(&e.at).unwrap_or_else(time::now);
    let entity = format!(
        "{}:{}",
        e.entity_type,
        e.entity_id.as_deref().unwrap_or_default()
    );
    let since = time::to_db(now - Duration::seconds(window));
    // Only a mail that will still wait a little may be rewritten: the mailer never
    // takes one that is not due.
    let margin = time::to_db(now + Duration::seconds(2));
    if window > 0
        && let Some((bundle, outbox_id, mut ids)) =
            store::open_bundle(conn, &p.id, &e.action, &entity, &since)?
    {
        ids.push(e.id);
        let rows = audit_store::by_ids(conn, &ids)?;
        let m = message(conn, base, p, &rows, false)?;
        if email::replace_held(conn, ring, outbox_id, &m, &margin)? {
            store::grow_bundle(conn, bundle, &ids)?;
            return Ok(());
        }
    }
    let m = message(conn, base, p, std::slice::from_ref(e), false)?;
    let id = email::queue(conn, ring, &m, &e.at)?;
    if window > 0 {
        let until = time::to_db(now + Duration::seconds(window));
        crate::db::outbox::hold(conn, id, &until)?;
        store::new_bundle(conn, &p.id, &e.action, &entity, id, e.id, &e.at)?;
    }
    Ok(())
}

/// One mail about `rows` (repeats of one change, or a day's digest) to `p`.
fn message(
    conn: &Connection,
    base: &str,
    p: &store::Recipient,
    rows: &[Entry],
    digest: bool,
) -> Result<email::Outgoing, AppError> {
    let (lines, read) = mail_lines(conn, p, rows)?;
    let first = read.first();
    let what = first.map(|l| l.what.clone()).unwrap_or_default();
    let item = first.map(|l| l.item.clone()).unwrap_or_default();
    let about = if item.is_empty() {
        what.clone()
    } else {
        format!("{what} — {item}")
    };
    let headline = if digest {
        format!("Resumo diário: {}", plural(rows.len()))
    } else if rows.len() > 1 {
        format!("{}: {about}", plural(rows.len()))
    } else {
        about
    };
    let link = match (digest, rows.last()) {
        (false, Some(e)) => link_for(base, e),
        _ => format!("{base}/admin/audit"),
    };
    let subject = headline
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    NotifyMessage {
        name: p.name.clone(),
        headline,
        digest,
        lines,
        link,
        prefs_link: format!("{base}{PAGE}"),
    }
    .to_outgoing(&p.email, subject)
}

/// Sends every person's waiting digest now, one mail each; returns how many went.
pub fn send_digests(conn: &mut Conn, keys: &Keys, settings: &Settings) -> Result<usize, AppError> {
    let people = store::digest_people(conn)?;
    let mut sent = 0;
    for id in people {
        let w_keys = keys.to_owned();
        let w_settings = settings.to_owned();
        sent += db::write(conn, move |tx| {
            let keys = &w_keys;
            let settings = &w_settings;
            let ids = store::take_digest(tx, &id)?;
            let Some(p) = store::recipients(tx)?.into_iter().find(|r| r.id == id) else {
                return Ok(0);
            };
            let rows = audit_store::by_ids(tx, &ids)?;
            if rows.is_empty() {
                return Ok(0);
            }
            let m = message(tx, &settings.base_url, &p, &rows, true)?;
            email::queue(tx, &keys.ring, &m, &time::now_db())?;
            Ok(1)
        })?;
    }
    let stale = time::to_db(time::now() - Duration::days(1));
    db::write(conn, move |tx| Ok(store::prune_bundles(tx, &stale)?))?;
    Ok(sent)
}

const LAST_DIGEST: &str = "notify.digest_last";

/// What the digest job does each minute: once the day's `OTM_DIGEST_TIME` has passed and
/// that slot was not served yet, send the digests. The first run only remembers the slot.
pub fn digest_if_due(conn: &mut Conn, keys: &Keys, settings: &Settings) -> Result<usize, AppError> {
    let times = crate::backup::schedule::parse_times(&settings.digest_time)
        .map_err(|m| AppError::Internal(anyhow::anyhow!(m)))?;
    let Some(slot) = crate::backup::schedule::latest_slot(time::now(), &times) else {
        return Ok(0);
    };
    let slot = time::to_db(slot);
    // Checked and taken in one writer job: two runs never serve the same slot.
    let due = db::write(conn, move |tx| {
        let last = app_settings::get(tx, LAST_DIGEST)?;
        if last.as_deref().is_some_and(|l| l >= slot.as_str()) {
            return Ok(false);
        }
        app_settings::set(tx, LAST_DIGEST, &slot, &time::now_db())?;
        Ok(last.is_some())
    })?;
    if !due {
        return Ok(0);
    }
    send_digests(conn, keys, settings)
}

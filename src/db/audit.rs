//! The audit trail: append with a keyed hash chain, list with filters, verify.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::writer::Tx;
use crate::crypto::{constant_time_eq, hmac_hex, random_bytes, sha256_hex};

const GENESIS: &str = "genesis";

/// What a use case records; the store adds id, time and chain.
///
/// `actor_label`, `ip` and `details` are the *personal part*: the chain covers them only
/// through a salted keyed commitment, so erasing a person can overwrite them and the
/// chain still verifies. `facts` is for what happened without personal data (counts,
/// pseudonyms, codes): the chain covers it directly and erasure never touches it.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub company_id: Option<String>,
    pub ip: String,
    pub details: Value,
    pub facts: Value,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub company_id: Option<String>,
    pub ip: String,
    pub details: String,
    /// What happened, without personal data (covered by the chain directly).
    pub facts: String,
    /// The `privacy.*` row that erased this row's personal part, if one did.
    pub erased_by: Option<i64>,
    personal_salt: String,
    personal_commit: String,
    prev_hash: String,
    hash: String,
}

const COLUMNS: &str = "id, at, actor_type, actor_id, actor_label, action, entity_type, entity_id, \
                       company_id, ip, details, prev_hash, hash, facts, personal_salt, \
                       personal_commit, erased_by";

/// Built once: the statement cache looks statements up by their text, and this one runs on
/// every audited write.
static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO audit_log ({COLUMNS}) \
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
    )
});

fn from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor_type: r.get(2)?,
        actor_id: r.get(3)?,
        actor_label: r.get(4)?,
        action: r.get(5)?,
        entity_type: r.get(6)?,
        entity_id: r.get(7)?,
        company_id: r.get(8)?,
        ip: r.get(9)?,
        details: r.get(10)?,
        prev_hash: r.get(11)?,
        hash: r.get(12)?,
        facts: r.get(13)?,
        personal_salt: r.get(14)?,
        personal_commit: r.get(15)?,
        erased_by: r.get(16)?,
    })
}

/// The hash of rows written before migration 0017: it covered the personal fields.
fn legacy_row_hash(key: &[u8], e: &Entry) -> String {
    let id = e.id.to_string();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    hmac_hex(
        key,
        &[
            e.prev_hash.as_bytes(),
            id.as_bytes(),
            e.at.as_bytes(),
            e.actor_type.as_bytes(),
            opt(&e.actor_id).as_bytes(),
            e.actor_label.as_bytes(),
            e.action.as_bytes(),
            e.entity_type.as_bytes(),
            opt(&e.entity_id).as_bytes(),
            opt(&e.company_id).as_bytes(),
            e.ip.as_bytes(),
            e.details.as_bytes(),
        ],
    )
}

/// The commitment to a row's personal part: keyed and salted, so that once the part
/// and its salt are erased, nobody (not even with the key) can test a guess against it.
fn personal_commit(
    key: &[u8],
    id: i64,
    salt: &str,
    label: &str,
    ip: &str,
    details: &str,
) -> String {
    hmac_hex(
        key,
        &[
            b"audit-personal-v2",
            id.to_string().as_bytes(),
            salt.as_bytes(),
            label.as_bytes(),
            ip.as_bytes(),
            details.as_bytes(),
        ],
    )
}

/// The chain's hash: what happened and the commitment, never the personal part itself.
fn row_hash(key: &[u8], e: &Entry) -> String {
    let id = e.id.to_string();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    hmac_hex(
        key,
        &[
            b"audit-row-v2",
            e.prev_hash.as_bytes(),
            id.as_bytes(),
            e.at.as_bytes(),
            e.actor_type.as_bytes(),
            opt(&e.actor_id).as_bytes(),
            e.action.as_bytes(),
            e.entity_type.as_bytes(),
            opt(&e.entity_id).as_bytes(),
            opt(&e.company_id).as_bytes(),
            e.facts.as_bytes(),
            e.personal_commit.as_bytes(),
        ],
    )
}

fn head_mac(key: &[u8], last_id: i64, last_hash: &str) -> String {
    hmac_hex(
        key,
        &[
            b"head",
            last_id.to_string().as_bytes(),
            last_hash.as_bytes(),
        ],
    )
}

fn new_salt() -> String {
    hex::encode(random_bytes::<16>())
}

fn facts_text(v: &Value) -> String {
    if v.is_null() {
        "{}".to_string()
    } else {
        v.to_string()
    }
}

fn write_head(conn: &Connection, key: &[u8], id: i64, hash: &str) -> rusqlite::Result<()> {
    store_head(conn, id, hash, &head_mac(key, id, hash))
}

/// Writes the head row (the writer does it once per group).
pub(crate) fn store_head(
    conn: &Connection,
    id: i64,
    hash: &str,
    mac: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_head (singleton, last_id, last_hash, mac) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
    )?
    .execute(params![id, hash, mac])?;
    Ok(())
}

/// Appends one entry. Runs inside the writer's transaction (a write job), so the entry
/// commits (or rolls back) with the change it describes. The chain's head comes from the
/// writer's memory ([`Tx`]); only when it is not known is the `audit_head` row read.
pub fn append(tx: &Tx<'_>, key: &[u8], at: &str, new: &NewEntry) -> rusqlite::Result<i64> {
    let conn: &Connection = tx;
    let (prev_id, prev_hash) = match tx.audit_head() {
        Some(h) => h,
        None => conn
            .query_row(
                "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, GENESIS.to_string())),
    };
    let id = prev_id + 1;
    let details = new.details.to_string();
    let salt = new_salt();
    let mut e = Entry {
        id,
        at: at.to_string(),
        actor_type: new.actor_type.to_string(),
        actor_id: new.actor_id.clone(),
        actor_label: new.actor_label.clone(),
        action: new.action.to_string(),
        entity_type: new.entity_type.to_string(),
        entity_id: new.entity_id.clone(),
        company_id: new.company_id.clone(),
        ip: new.ip.clone(),
        personal_commit: personal_commit(key, id, &salt, &new.actor_label, &new.ip, &details),
        details,
        facts: facts_text(&new.facts),
        erased_by: None,
        personal_salt: salt,
        prev_hash,
        hash: String::new(),
    };
    e.hash = row_hash(key, &e);
    conn.prepare_cached(&INSERT)?.execute(params![
        e.id,
        e.at,
        e.actor_type,
        e.actor_id,
        e.actor_label,
        e.action,
        e.entity_type,
        e.entity_id,
        e.company_id,
        e.ip,
        e.details,
        e.prev_hash,
        e.hash,
        e.facts,
        e.personal_salt,
        e.personal_commit,
        e.erased_by
    ])?;
    tx.set_audit_head(e.id, e.hash.clone(), head_mac(key, e.id, &e.hash));
    if tx.writes_head_per_row() {
        tx.flush_audit_head()?;
    }
    let hook = AFTER_APPEND
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let Some(hook) = hook {
        hook(conn, &e)?;
    }
    Ok(e.id)
}

/// Called with every appended row, in the appending transaction: the notifications
/// (`services::notify`) queue their mail there, so no use case can forget them.
pub type AfterAppend = dyn Fn(&Connection, &Entry) -> rusqlite::Result<()> + Send + Sync;

static AFTER_APPEND: std::sync::RwLock<Option<std::sync::Arc<AfterAppend>>> =
    std::sync::RwLock::new(None);

/// Installs (or replaces) the hook every `append` calls.
pub fn on_append(hook: std::sync::Arc<AfterAppend>) {
    *AFTER_APPEND.write().unwrap_or_else(|p| p.into_inner()) = Some(hook);
}

/// The rows with these ids, oldest first.
pub fn by_ids(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM audit_log WHERE id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(e) = stmt.query_row([id], from_row).optional()? {
            out.push(e);
        }
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// What erasing a person needs to find their rows: their id, and the words (e-mail,
/// name, phone) that may appear in the personal part of rows about someone else.
pub struct Subject<'a> {
    pub user_id: Option<&'a str>,
    pub words: &'a [String],
}

/// The ids of the rows (personal part not yet erased) that involve `s`. A full scan:
/// free text can mention anyone.
pub fn rows_involving(conn: &Connection, s: &Subject<'_>) -> rusqlite::Result<Vec<i64>> {
    let mut sql = String::from("SELECT id FROM audit_log WHERE erased_by IS NULL AND (0");
    let mut args: Vec<String> = Vec::new();
    if let Some(u) = s.user_id {
        args.push(u.to_string());
        let n = args.len();
        sql.push_str(&format!(" OR actor_id = ?{n} OR entity_id = ?{n}"));
    }
    for w in s.words.iter().filter(|w| w.chars().count() >= 3) {
        args.push(format!("%{}%", escape_like(w)));
        let n = args.len();
        sql.push_str(&format!(
            " OR actor_label LIKE ?{n} ESCAPE '\\' OR details LIKE ?{n} ESCAPE '\\' \
              OR ip LIKE ?{n} ESCAPE '\\'"
        ));
    }
    sql.push_str(") ORDER BY id");
    let mut stmt = conn.prepare(&sql)?;
    let ids = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}

/// The rows written before `cutoff` that still hold an IP address (access records are
/// kept six months, Marco Civil Art. 15), for the retention run to erase.
pub fn with_ip_before(conn: &Connection, cutoff: &str) -> rusqlite::Result<Vec<i64>> {
    conn.prepare(
        "SELECT id FROM audit_log WHERE at < ?1 AND ip <> '' AND erased_by IS NULL ORDER BY id",
    )?
    .query_map([cutoff], |r| r.get(0))?
    .collect()
}

/// The digest an erasing row's `facts` carry of the rows it erased (ascending ids).
pub fn erased_digest(ids: &[i64]) -> String {
    let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    sha256_hex(joined.as_bytes())
}

/// Overwrites the personal part of `ids` (label, IP, details, salt): the label becomes
/// `label_of(actor_id)` (a pseudonym), the details the row's non-personal facts. Marks
/// each row as erased by `erasure_id`, which must be a row already in the chain whose
/// facts hold [`erased_digest`] of `ids`.
pub fn erase_rows(
    conn: &Connection,
    ids: &[i64],
    erasure_id: i64,
    label_of: &dyn Fn(Option<&str>) -> String,
) -> rusqlite::Result<()> {
    let mut read = conn.prepare("SELECT actor_id FROM audit_log WHERE id = ?1")?;
    let mut write = conn.prepare(
        "UPDATE audit_log SET actor_label = ?2, ip = '', details = facts, personal_salt = '',
                erased_by = ?3
          WHERE id = ?1 AND erased_by IS NULL",
    )?;
    for id in ids {
        let actor: Option<String> = read.query_row([id], |r| r.get(0))?;
        write.execute(params![id, label_of(actor.as_deref()), erasure_id])?;
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub company_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Entries with an id below this one (newest first).
    pub before: Option<i64>,
    /// Set when the reader is a client company, to the label it sees for the platform
    /// (its owner, staff, or the system): `actor` then matches the platform's rows only
    /// through that label, never through the e-mail or id the masking hides.
    pub tenant_team: Option<String>,
    /// Entries about one person: done to their account or done by them.
    pub subject: Option<String>,
}

/// Rows by the platform: its owner or staff, or the system (as a client company's
/// history names them; `services::audit::as_tenant_sees`).
const BY_PLATFORM: &str = "((actor_type = 'user' AND actor_id IN \
    (SELECT id FROM users WHERE role IN ('owner', 'staff'))) \
    OR (actor_type = 'system' AND (actor_label = '' OR actor_label = 'sistema' \
    OR actor_label IN (SELECT email FROM users WHERE role IN ('owner', 'staff')))))";

/// Newest first; returns up to `limit` entries and whether more exist.
pub fn list(conn: &Connection, f: &Filter, limit: usize) -> rusqlite::Result<(Vec<Entry>, bool)> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1=1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(c) = &f.company_id {
        args.push(Box::new(c.clone()));
        sql.push_str(&format!(" AND company_id = ?{}", args.len()));
    }
    if let Some(a) = &f.actor {
        args.push(Box::new(a.clone()));
        let n = args.len();
        args.push(Box::new(format!("%{}%", escape_like(a))));
        // By id, by e-mail, or by the person's name (what the page shows).
        let by_actor = format!(
            "(actor_id = ?{n} OR actor_label LIKE ?{m} ESCAPE '\\' OR (actor_type = 'user' AND \
             actor_id IN (SELECT id FROM users WHERE name LIKE ?{m} ESCAPE '\\')))",
            m = args.len()
        );
        match &f.tenant_team {
            Some(team) => {
                let team_matches = team.to_lowercase().contains(&a.to_lowercase());
                args.push(Box::new(team_matches));
                sql.push_str(&format!(
                    " AND (CASE WHEN {BY_PLATFORM} THEN ?{} ELSE {by_actor} END)",
                    args.len()
                ));
            }
            None => sql.push_str(&format!(" AND {by_actor}")),
        }
    }
    if let Some(u) = &f.subject {
        args.push(Box::new(u.clone()));
        let n = args.len();
        sql.push_str(&format!(
            " AND ((entity_type = 'user' AND entity_id = ?{n}) OR (actor_type = 'user' AND actor_id = ?{n}))"
        ));
    }
    if let Some(a) = &f.action {
        if let Some(prefix) = a.strip_suffix(".*") {
            args.push(Box::new(format!("{}.%", escape_like(prefix))));
            sql.push_str(&format!(" AND action LIKE ?{} ESCAPE '\\'", args.len()));
        } else {
            args.push(Box::new(a.clone()));
            sql.push_str(&format!(" AND action = ?{}", args.len()));
        }
    }
    if let Some(from) = &f.from {
        args.push(Box::new(from.clone()));
        sql.push_str(&format!(" AND at >= ?{}", args.len()));
    }
    if let Some(to) = &f.to {
        args.push(Box::new(to.clone()));
        sql.push_str(&format!(" AND at < ?{}", args.len()));
    }
    if let Some(b) = f.before {
        args.push(Box::new(b));
        sql.push_str(&format!(" AND id < ?{}", args.len()));
    }
    args.push(Box::new((limit + 1) as i64));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt
        .query_map(
            rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
}

/// The entries where a person acted (by id, or by e-mail before they had an account) or
/// was acted on, newest first, up to `limit`.
pub fn about_person(
    conn: &Connection,
    user_id: &str,
    email: &str,
    limit: usize,
) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE actor_id = ?1 OR entity_id = ?1 OR (actor_label = ?2 COLLATE NOCASE AND ?2 <> '')
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![user_id, email, limit as i64], from_row)?;
    rows.collect()
}

/// Entries in id order from `after` on, `limit` at a time (exports walk the whole trail).
pub fn batch_after(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64], from_row)?;
    rows.collect()
}

/// Outcome of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { rows: u64 },
    Broken { at_id: i64, reason: String },
}

/// Walks the chain (rows written since migration 0017). A row whose personal part was
/// erased is checked through its commitment's absence: it must name an erasing row of
/// the chain whose facts hold the digest of exactly the rows it erased.
pub fn verify(conn: &Connection, key: &[u8]) -> rusqlite::Result<Verdict> {
    walk(conn, key, false)
}

/// Walks the chain as the code before migration 0017 wrote it (personal fields hashed).
pub fn verify_legacy(conn: &Connection, key: &[u8]) -> rusqlite::Result<Verdict> {
    walk(conn, key, true)
}

fn walk(conn: &Connection, key: &[u8], legacy: bool) -> rusqlite::Result<Verdict> {
    use std::collections::BTreeMap;
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut prev_hash = GENESIS.to_string();
    let mut prev_id = 0i64;
    let mut n = 0u64;
    // erasing row id -> the ids it erased, as found; and -> the digest its facts claim
    let mut erased: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut claimed: BTreeMap<i64, String> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let e = from_row(row)?;
        if e.id != prev_id + 1 {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: format!(
                    "row {} is missing (ids jump from {prev_id} to {})",
                    prev_id + 1,
                    e.id
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: "does not link to the row before it".into(),
            });
        }
        let expected = if legacy {
            legacy_row_hash(key, &e)
        } else {
            row_hash(key, &e)
        };
        if !constant_time_eq(expected.as_bytes(), e.hash.as_bytes()) {
            return Ok(Verdict::Broken {
                at_id: e.id,
                reason: "contents were changed".into(),
            });
        }
        if !legacy {
            match e.erased_by {
                None => {
                    let c = personal_commit(
                        key,
                        e.id,
                        &e.personal_salt,
                        &e.actor_label,
                        &e.ip,
                        &e.details,
                    );
                    if !constant_time_eq(c.as_bytes(), e.personal_commit.as_bytes()) {
                        return Ok(Verdict::Broken {
                            at_id: e.id,
                            reason: "its personal part was changed".into(),
                        });
                    }
                }
                Some(by) => erased.entry(by).or_default().push(e.id),
            }
            if let Some(d) = serde_json::from_str::<Value>(&e.facts).ok().and_then(|f| {
                f.get("erased_digest")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }) {
                claimed.insert(e.id, d);
            }
        }
        prev_hash = e.hash;
        prev_id = e.id;
        n += 1;
    }
    for (by, ids) in &erased {
        let ok = claimed
            .get(by)
            .is_some_and(|d| constant_time_eq(d.as_bytes(), erased_digest(ids).as_bytes()));
        if !ok {
            return Ok(Verdict::Broken {
                at_id: ids.first().copied().unwrap_or(*by),
                reason: format!(
                    "its personal part was removed, but erasure row {by} does not account for it"
                ),
            });
        }
    }
    for (by, d) in &claimed {
        if !erased.contains_key(by) && *d != erased_digest(&[]) {
            return Ok(Verdict::Broken {
                at_id: *by,
                reason: "rows this erasure overwrote were restored or changed".into(),
            });
        }
    }
    let head: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT last_id, last_hash, mac FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match head {
        None if n == 0 => Ok(Verdict::Intact { rows: 0 }),
        None => Ok(Verdict::Broken {
            at_id: prev_id,
            reason: "the chain head is missing".into(),
        }),
        Some((last_id, last_hash, mac)) => {
            if !constant_time_eq(
                head_mac(key, last_id, &last_hash).as_bytes(),
                mac.as_bytes(),
            ) {
                Ok(Verdict::Broken {
                    at_id: last_id,
                    reason: "the chain head was changed".into(),
                })
            } else if last_id != prev_id || last_hash != prev_hash {
                Ok(Verdict::Broken {
                    at_id: prev_id + 1,
                    reason: format!(
                        "rows after {prev_id} were removed (the chain ends at {last_id})"
                    ),
                })
            } else {
                Ok(Verdict::Intact { rows: n })
            }
        }
    }
}

/// True when the trail still holds rows in the format before migration 0017 (they come
/// first, so the first row tells).
pub fn needs_rechain(conn: &Connection) -> rusqlite::Result<bool> {
    let first: Option<String> = conn
        .query_row(
            "SELECT personal_commit FROM audit_log ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(first.is_some_and(|c| c.is_empty()))
}

/// Rebuilds the chain in the current format: every row gets a salt and a commitment to
/// its personal part, and new hashes; the head moves to the new last hash. Returns the
/// old head (id, hash). Run inside a write transaction, after verifying the old chain.
pub fn rechain(tx: &Tx<'_>, key: &[u8]) -> rusqlite::Result<(i64, String)> {
    // The head row is rewritten below: the writer reads it again afterwards.
    tx.flush_audit_head()?;
    tx.forget_audit_head();
    let conn: &Connection = tx;
    let old_head: (i64, String) = conn
        .query_row(
            "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string()));
    let mut prev_hash = GENESIS.to_string();
    let mut last_id = 0i64;
    let mut read = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT 5000"
    ))?;
    let mut write = conn.prepare(
        "UPDATE audit_log SET prev_hash = ?2, hash = ?3, personal_salt = ?4,
                personal_commit = ?5, facts = '{}'
          WHERE id = ?1",
    )?;
    loop {
        // In batches, read first and then written, never while a read is open.
        let batch = read
            .query_map([last_id], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if batch.is_empty() {
            break;
        }
        for mut e in batch {
            e.facts = "{}".to_string();
            e.personal_salt = new_salt();
            e.personal_commit = personal_commit(
                key,
                e.id,
                &e.personal_salt,
                &e.actor_label,
                &e.ip,
                &e.details,
            );
            e.prev_hash = prev_hash;
            e.hash = row_hash(key, &e);
            write.execute(params![
                e.id,
                e.prev_hash,
                e.hash,
                e.personal_salt,
                e.personal_commit
            ])?;
            prev_hash = e.hash;
            last_id = e.id;
        }
    }
    if last_id > 0 {
        write_head(conn, key, last_id, &prev_hash)?;
    }
    Ok(old_head)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c
    }

    fn entry(action: &'static str) -> NewEntry {
        NewEntry {
            actor_type: "system",
            action,
            details: serde_json::json!({"n": 1}),
            ..Default::default()
        }
    }

    /// Migration 0032: the actor-type rule still holds, and checking it no longer builds a
    /// temporary b-tree per appended row.
    #[test]
    fn the_actor_type_rule_holds_without_a_temporary_table_per_row() {
        let c = db();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN {}", *INSERT))
            .unwrap()
            .query_map(
                rusqlite::params_from_iter(std::iter::repeat_n(rusqlite::types::Null, 17)),
                |r| r.get::<_, String>(1),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|op| op == "Insert"), "{plan:?}");
        assert!(!plan.iter().any(|op| op == "OpenEphemeral"), "{plan:?}");
        let insert = |actor_type: &str| {
            c.execute(
                "INSERT INTO audit_log (at, actor_type, action, prev_hash, hash) \
                 VALUES ('2026-01-01', ?1, 'x', '', '')",
                [actor_type],
            )
        };
        for ok in ["user", "application", "system"] {
            insert(ok).unwrap();
        }
        let err = insert("robot").unwrap_err().to_string();
        assert!(err.contains("CHECK constraint failed"), "{err}");
    }

    #[test]
    fn intact_chain_verifies_and_tampering_is_caught() {
        let c = db();
        for _ in 0..5 {
            append(
                &Tx::direct(&c, &Default::default()),
                b"k",
                "2026-01-01T00:00:00.000000Z",
                &entry("company.create"),
            )
            .unwrap();
        }
        assert_eq!(verify(&c, b"k").unwrap(), Verdict::Intact { rows: 5 });
        // a different key cannot vouch for the chain
        assert!(matches!(
            verify(&c, b"other").unwrap(),
            Verdict::Broken { at_id: 1, .. }
        ));

        c.execute(
            "UPDATE audit_log SET details = '{\"n\":2}' WHERE id = 3",
            [],
        )
        .unwrap();
        assert!(matches!(
            verify(&c, b"k").unwrap(),
            Verdict::Broken { at_id: 3, .. }
        ));
    }

    #[test]
    fn deleted_and_truncated_rows_are_caught() {
        let c = db();
        for _ in 0..4 {
            append(
                &Tx::direct(&c, &Default::default()),
                b"k",
                "2026-01-01T00:00:00.000000Z",
                &entry("auth.login"),
            )
            .unwrap();
        }
        c.execute("DELETE FROM audit_log WHERE id = 4", []).unwrap();
        assert!(matches!(verify(&c, b"k").unwrap(), Verdict::Broken { .. }));
        c.execute("DELETE FROM audit_log WHERE id = 2", []).unwrap();
        assert!(matches!(
            verify(&c, b"k").unwrap(),
            Verdict::Broken { at_id: 3, .. }
        ));
    }

    /// A database at migration 0016 holding three audit rows as the old code wrote
    /// them; returns it and the old head's hash.
    pub(crate) fn legacy_trail(key: &[u8]) -> (Connection, String) {
        let c = Connection::open_in_memory().unwrap();
        let at = crate::db::MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0017_audit_personal")
            .unwrap();
        for (_, sql) in &crate::db::MIGRATIONS[..at] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", at as i64).unwrap();
        // The old writer: every field, personal ones included, inside the HMAC.
        let mut prev = GENESIS.to_string();
        for (i, (who, ip, details)) in [
            (
                "ana@padaria.com.br",
                "203.0.113.7",
                r#"{"email":"ana@padaria.com.br"}"#,
            ),
            (
                "dona@example.com.br",
                "198.51.100.1",
                r#"{"name":"Ana Souza"}"#,
            ),
            ("ana@padaria.com.br", "203.0.113.7", r#"{"via":"page"}"#),
        ]
        .iter()
        .enumerate()
        {
            let id = i as i64 + 1;
            let actor = if id == 2 { "usr_dona" } else { "usr_ana" };
            let mut e = Entry {
                id,
                at: format!("2026-01-0{id}T00:00:00.000000Z"),
                actor_type: "user".into(),
                actor_id: Some(actor.into()),
                actor_label: who.to_string(),
                action: "user.update".into(),
                entity_type: "user".into(),
                entity_id: Some("usr_ana".into()),
                company_id: None,
                ip: ip.to_string(),
                details: details.to_string(),
                facts: String::new(),
                erased_by: None,
                personal_salt: String::new(),
                personal_commit: String::new(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = legacy_row_hash(key, &e);
            c.execute(
                "INSERT INTO audit_log (id, at, actor_type, actor_id, actor_label, action,
                   entity_type, entity_id, company_id, ip, details, prev_hash, hash)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                params![
                    e.id,
                    e.at,
                    e.actor_type,
                    e.actor_id,
                    e.actor_label,
                    e.action,
                    e.entity_type,
                    e.entity_id,
                    e.company_id,
                    e.ip,
                    e.details,
                    e.prev_hash,
                    e.hash
                ],
            )
            .unwrap();
            c.execute(
                "INSERT INTO audit_head (singleton, last_id, last_hash, mac) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (singleton) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
                params![id, e.hash, head_mac(key, id, &e.hash)],
            )
            .unwrap();
            prev = e.hash;
        }
        let old_head = prev;
        (c, old_head)
    }

    /// A trail written by the code before migration 0017 (personal data hashed inside
    /// the rows) migrates: its old chain is verified, it is re-chained, and erasing a
    /// person afterwards leaves it verifiable.
    #[test]
    fn a_trail_of_the_old_format_migrates_verifies_and_survives_erasure() {
        let key = b"old-audit-key";
        let (mut c, old_head) = legacy_trail(key);
        crate::db::migrate(&mut c).unwrap();
        assert!(needs_rechain(&c).unwrap());
        assert_eq!(verify_legacy(&c, key).unwrap(), Verdict::Intact { rows: 3 });
        // Before the conversion, the new rule does not vouch for old rows.
        assert!(matches!(verify(&c, key).unwrap(), Verdict::Broken { .. }));
        assert_eq!(
            rechain(&Tx::direct(&c, &Default::default()), key).unwrap(),
            (3, old_head)
        );
        assert!(!needs_rechain(&c).unwrap());
        assert_eq!(verify(&c, key).unwrap(), Verdict::Intact { rows: 3 });
        let entry = NewEntry {
            actor_type: "system",
            action: "audit.rechain",
            ..Default::default()
        };
        append(
            &Tx::direct(&c, &Default::default()),
            key,
            "2026-01-09T00:00:00.000000Z",
            &entry,
        )
        .unwrap();
        // Erasing Ana: her rows lose their personal part, the chain still verifies.
        let words = ["ana@padaria.com.br".to_string(), "Ana Souza".to_string()];
        let ids = rows_involving(
            &c,
            &Subject {
                user_id: Some("usr_ana"),
                words: &words,
            },
        )
        .unwrap();
        assert_eq!(ids, [1, 2, 3]);
        let entry = NewEntry {
            actor_type: "system",
            action: "privacy.anonymize",
            entity_type: "user",
            entity_id: Some("usr_ana".into()),
            facts: serde_json::json!({"erased_digest": erased_digest(&ids)}),
            ..Default::default()
        };
        let eid = append(
            &Tx::direct(&c, &Default::default()),
            key,
            "2026-02-01T00:00:00.000000Z",
            &entry,
        )
        .unwrap();
        erase_rows(&c, &ids, eid, &|a| format!("P-{}", a.unwrap_or(""))).unwrap();
        assert_eq!(verify(&c, key).unwrap(), Verdict::Intact { rows: 5 });
        let left: i64 = c
            .query_row(
                "SELECT count(*) FROM audit_log
                  WHERE actor_label LIKE '%ana@%' OR details LIKE '%Ana%' OR ip <> ''",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        // Erasing without an erasure on record is tampering.
        c.execute("UPDATE audit_log SET erased_by = 5 WHERE id = 4", [])
            .unwrap();
        assert!(matches!(verify(&c, key).unwrap(), Verdict::Broken { .. }));
        c.execute("UPDATE audit_log SET erased_by = NULL WHERE id = 4", [])
            .unwrap();
        assert_eq!(verify(&c, key).unwrap(), Verdict::Intact { rows: 5 });
        // ... and so is changing a personal part that was not erased.
        c.execute("UPDATE audit_log SET ip = '10.0.0.1' WHERE id = 4", [])
            .unwrap();
        assert!(matches!(
            verify(&c, key).unwrap(),
            Verdict::Broken { at_id: 4, .. }
        ));
    }
}

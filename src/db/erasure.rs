//! Erasure (LGPD): the SQL that removes a person's or a company contact's name, e-mail
//! and phone from every table, and that scrubs the database files afterwards.

use rusqlite::{Connection, params};

/// Replaces a person's name and e-mail in their account and wherever their e-mail names
/// who did something (`*_by` columns), removes what exists only for them (password,
/// second factor, reset links, known devices and addresses, invitations to them, their
/// mail), and marks the account anonymized. `pseudonym` replaces the name, `alias` the
/// e-mail (unique, not an address of anyone). Case-insensitive on the e-mail.
pub fn erase_user(
    conn: &Connection,
    user_id: &str,
    email: &str,
    name: &str,
    pseudonym: &str,
    alias: &str,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET name = ?2, email = ?3, status = 'anonymized', password_hash = NULL,
                status_reason = '', failed_attempts = 0, locked_until = NULL,
                last_failed_at = NULL, updated_at = ?4, sort_key = ?5
          WHERE id = ?1",
        params![
            user_id,
            pseudonym,
            alias,
            now,
            super::users::sort_key(pseudonym)
        ],
    )?;
    for sql in [
        "DELETE FROM mfa_factors WHERE user_id = ?1",
        "DELETE FROM mfa_recovery_codes WHERE user_id = ?1",
        "DELETE FROM password_resets WHERE user_id = ?1",
        "DELETE FROM known_clients WHERE user_id = ?1",
        "DELETE FROM sessions WHERE user_id = ?1",
    ] {
        conn.execute(sql, [user_id])?;
    }
    replace_label(conn, email, pseudonym)?;
    conn.execute(
        "DELETE FROM invitations WHERE email = ?1 COLLATE NOCASE",
        [email],
    )?;
    conn.execute(
        "UPDATE company_requests SET requester_name = ?2, requester_email = ?3, password_hash = ''
          WHERE requester_email = ?1 COLLATE NOCASE",
        params![email, pseudonym, alias],
    )?;
    conn.execute(
        "UPDATE companies SET contact_name = '', email = '', phone = '', updated_at = ?2
          WHERE email = ?1 COLLATE NOCASE",
        params![email, now],
    )?;
    erase_mail(conn, &[email, name])?;
    Ok(())
}

/// Where an e-mail names who did something, the pseudonym names them instead.
fn replace_label(conn: &Connection, email: &str, pseudonym: &str) -> rusqlite::Result<()> {
    for sql in [
        "UPDATE invitations SET invited_by = ?2 WHERE invited_by = ?1 COLLATE NOCASE",
        "UPDATE company_requests SET decided_by = ?2 WHERE decided_by = ?1 COLLATE NOCASE",
        "UPDATE omie_credentials SET updated_by = ?2 WHERE updated_by = ?1 COLLATE NOCASE",
        "UPDATE omie_credential_history SET changed_by = ?2 WHERE changed_by = ?1 COLLATE NOCASE",
        "UPDATE application_links SET granted_by = ?2 WHERE granted_by = ?1 COLLATE NOCASE",
        "UPDATE backups SET requested_by = ?2 WHERE requested_by = ?1 COLLATE NOCASE",
    ] {
        conn.execute(sql, params![email, pseudonym])?;
    }
    Ok(())
}

/// Mail to or about the words (an e-mail, a name, a phone): removed from the outbox,
/// sent or not (a sealed body cannot be searched, so mail *to* the address goes whole).
pub fn erase_mail(conn: &Connection, words: &[&str]) -> rusqlite::Result<usize> {
    let mut n = 0;
    for w in words.iter().filter(|w| w.chars().count() >= 3) {
        let like = format!("%{}%", super::audit::escape_like(w));
        n += conn.execute(
            "DELETE FROM outbox WHERE to_addr LIKE ?1 ESCAPE '\\' OR subject LIKE ?1 ESCAPE '\\'
                OR (sealed = 0 AND (text_body LIKE ?1 ESCAPE '\\' OR html_body LIKE ?1 ESCAPE '\\'))",
            [like],
        )?;
    }
    Ok(n)
}

/// The sealed mail bodies (id, text body), to be opened and searched by the caller.
pub fn sealed_mail(conn: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut st = conn.prepare("SELECT id, text_body FROM outbox WHERE sealed = 1 ORDER BY id")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn delete_mail(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// A company at the end of its contract: archived, its contact erased, its Omie
/// credentials (and their history) destroyed, its application links removed. CNPJ and
/// legal name stay.
pub fn erase_company(conn: &Connection, company_id: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE companies SET contact_name = '', email = '', phone = '', status = 'archived',
                updated_at = ?2
          WHERE id = ?1",
        params![company_id, now],
    )?;
    for sql in [
        "DELETE FROM omie_credentials WHERE company_id = ?1",
        "DELETE FROM omie_credential_history WHERE company_id = ?1",
        "DELETE FROM application_links WHERE company_id = ?1",
        "DELETE FROM invitations WHERE company_id = ?1",
    ] {
        conn.execute(sql, [company_id])?;
    }
    Ok(())
}

/// The contact of a company: (name, e-mail, phone).
pub fn company_contact(
    conn: &Connection,
    company_id: &str,
) -> rusqlite::Result<Option<(String, String, String)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT contact_name, email, phone FROM companies WHERE id = ?1",
        [company_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// Whether this database records the company's anonymization (an older backup does
/// not). Only what the trail says counts: a company used again after its erasure keeps
/// its new data.
pub fn company_erasure_recorded(conn: &Connection, company_id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit_log
                         WHERE action IN ('privacy.anonymize_company', 'privacy.reapply')
                           AND entity_type = 'company' AND entity_id = ?1)",
        [company_id],
        |r| r.get(0),
    )
}

/// The ids of a company's people not yet anonymized.
pub fn company_people(conn: &Connection, company_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT id FROM users WHERE company_id = ?1 AND status <> 'anonymized' ORDER BY id",
    )?;
    let ids = st
        .query_map([company_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

/// After an erasure commits: the erased bytes leave the files. Every connection runs
/// with `secure_delete` (freed cells and pages are zeroed), so what remains are the old
/// page images in the write-ahead log: a TRUNCATE checkpoint copies the current pages
/// into the database file and empties the log. Returns false when readers kept the
/// checkpoint from finishing (the caller retries).
pub fn scrub_files(conn: &Connection) -> rusqlite::Result<bool> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// Rebuilds the database file (VACUUM): no free page or free cell of it survives.
pub fn compact(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("VACUUM")
}

//! SQL for the vendor's logo (the name is an `app_settings` row).

use rusqlite::{Connection, OptionalExtension, params};

pub struct Logo {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub hash: String,
}

pub fn logo(conn: &Connection) -> rusqlite::Result<Option<Logo>> {
    conn.query_row(
        "SELECT content_type, bytes, hash FROM vendor_logo WHERE id = 1",
        [],
        |r| {
            Ok(Logo {
                content_type: r.get(0)?,
                bytes: r.get(1)?,
                hash: r.get(2)?,
            })
        },
    )
    .optional()
}

pub fn logo_hash(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT hash FROM vendor_logo WHERE id = 1", [], |r| {
        r.get(0)
    })
    .optional()
}

pub fn set_logo(conn: &Connection, l: &Logo, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO vendor_logo (id, content_type, bytes, hash, updated_at) VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes,
             hash = excluded.hash, updated_at = excluded.updated_at",
        params![l.content_type, l.bytes, l.hash, now],
    )?;
    Ok(())
}

pub fn remove_logo(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM vendor_logo", [])?;
    Ok(())
}

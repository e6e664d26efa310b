//! WAL checkpoints beside the writer, so the one writer thread does not copy pages
//! into the database file and wait for their fsync between its groups.
//!
//! A thread with a connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` a few
//! times a second while there is something to copy: a passive checkpoint takes no write
//! lock, so groups keep committing meanwhile. It cannot *restart* the WAL (SQLite does
//! that when a transaction begins on a fully copied WAL), so once the WAL holds
//! [`RESTART_AT`] frames the thread asks the writer for one short checkpoint of its own,
//! between two groups, which copies what little is left; the writer's next transaction
//! then starts the WAL over. That connection never writes a row: data still changes
//! only through the writer.

use std::path::Path;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::writer::{Handle, Writer};

/// How often the thread looks.
const EVERY: Duration = Duration::from_millis(100);

/// WAL frames (pages) past which the writer is asked to finish a checkpoint: about
/// 64 MB of WAL with 4 KB pages. Each restart pauses the writer for the copy of what the
/// thread has not copied yet and an fsync of the database file; token issues wrote
/// ~20,000 frames a second while each token landed on a random page of the token index
/// (before token keys opened with the issue time), about one pause a second. Measured
/// (`scripts/bench/hot_path.sh`, 64 connections): at 4,000 frames token issues ran at
/// 15,406/s with p99 21.2 ms; at 16,000, 18,936/s with p99 9.4 ms (30 s: 16,004/s, p99
/// 10.1 ms).
pub const RESTART_AT: i64 = 16_000;

/// Starts the thread; it ends by itself when the last handle of `writer` is gone.
pub fn start(path: &Path, writer: &Writer) -> std::io::Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(std::io::Error::other)?;
    conn.execute_batch(super::CONNECTION_PRAGMAS)
        .map_err(std::io::Error::other)?;
    let weak = writer.downgrade();
    std::thread::Builder::new()
        .name("otm-checkpoint".into())
        .spawn(move || run(&conn, &weak))?;
    Ok(())
}

fn run(conn: &Connection, writer: &Weak<Handle>) {
    loop {
        std::thread::sleep(EVERY);
        let Some(w) = writer.upgrade().map(Writer::from_handle) else {
            return;
        };
        // (busy, frames in the WAL, frames copied): a passive checkpoint never waits.
        let frames = match w.while_open(|| passive(conn)) {
            None => return,
            Some(Ok((_, log, _))) => log,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "background checkpoint failed");
                continue;
            }
        };
        if frames >= RESTART_AT
            && let Err(e) = w.maintenance_blocking(|c| Ok(passive(c)?))
        {
            tracing::warn!(error = %e, "the writer's checkpoint failed");
        }
    }
}

fn passive(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_frames(path: &Path) -> i64 {
        let c = Connection::open(path).unwrap();
        // A passive checkpoint that copies nothing new answers the WAL's frame count.
        passive(&c).unwrap().1
    }

    #[test]
    fn the_wal_starts_over_while_the_writer_keeps_writing_and_close_then_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let pool = super::super::open(&path, 2).unwrap();
        let w = pool.writer().clone();
        w.write_blocking(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (b BLOB)")?))
            .unwrap();
        // ~1.3 × RESTART_AT pages, in groups the writer commits one after the other.
        let blob = vec![7u8; 1024 * 1024];
        for _ in 0..80 {
            let b = blob.clone();
            w.write_blocking(move |tx| Ok(tx.execute("INSERT INTO scratch (b) VALUES (?1)", [b])?))
                .unwrap();
        }
        let mut frames = i64::MAX;
        for _ in 0..50 {
            std::thread::sleep(EVERY * 2);
            // A write after the checkpoints: it starts the WAL over when all was copied.
            w.write_blocking(|tx| Ok(tx.execute("DELETE FROM scratch WHERE rowid = 1", [])?))
                .unwrap();
            frames = wal_frames(&path);
            if frames < RESTART_AT {
                break;
            }
        }
        assert!(frames < RESTART_AT, "the WAL kept {frames} frames");
        // Closing waits for the checkpoint thread, so a TRUNCATE checkpoint is not busy.
        let rw = pool.close().unwrap();
        let busy: i64 = rw
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0);
    }
}

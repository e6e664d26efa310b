//! The backup file format: an age file (X25519, to the identity derived from the master
//! key) whose content is a zstd stream. The stream starts with a zstd *skippable frame*
//! holding a JSON manifest (the database's SHA-256, size and row counts), followed by
//! the compressed database. `zstd -d` skips that frame, so standard tools open a backup:
//! `age -d -i identity.txt FILE | zstd -d > omie-tenant-manager.db`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Skippable frame magic numbers are 0x184D2A50..=0x184D2A5F; this one is ours.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;
const MANIFEST_TAG: &[u8] = b"otm-backup-manifest-v1\n";
const ZSTD_LEVEL: i32 = 3;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub created_at: String,
    pub app_version: String,
    pub schema_version: i64,
    pub db_bytes: u64,
    pub db_sha256: String,
    /// Rows per table at snapshot time.
    pub tables: BTreeMap<String, i64>,
}

/// Why a backup file does not open. Each message is one line that says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not an Omie Tenant Manager backup, or its beginning is damaged")]
    NotABackup,
    #[error(
        "this backup was encrypted with a different master key: none of the keys in the master key file opens it"
    )]
    WrongKey,
    #[error("the backup file is truncated or its end is damaged: its last block does not open")]
    Truncated,
    #[error("the backup file was altered or damaged: its contents fail authentication")]
    Tampered,
    #[error("the database inside the backup does not match the SHA-256 recorded when it was made")]
    Checksum,
    #[error("cannot read or write a file: {0}")]
    Io(io::Error),
}

fn classify(e: io::Error) -> OpenError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => OpenError::Truncated,
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::StorageFull => {
            OpenError::Io(e)
        }
        // age reports a chunk that fails its tag as InvalidData; zstd reports a broken
        // frame as Other. Both mean the content is not what was written.
        _ => OpenError::Tampered,
    }
}

/// A writer that hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            hex::encode(self.hasher.finalize()),
            self.written,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut f, &mut w)?;
    let (_, hash, n) = w.finish();
    Ok((hash, n))
}

/// Writes the encrypted backup of the database file `db` to `out` (created, synced).
/// Returns the SHA-256 and size of the written file.
pub fn write(
    db: &Path,
    manifest: &Manifest,
    recipient: &age::x25519::Recipient,
    out: &Path,
) -> anyhow::Result<(String, u64)> {
    let file = crate::crypto::create_private_file(out)?;
    let hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as _))
        .map_err(|e| anyhow::anyhow!("cannot set up encryption: {e}"))?;
    let mut enc = encryptor.wrap_output(hashing)?;

    let mut frame = MANIFEST_TAG.to_vec();
    frame.extend_from_slice(&serde_json::to_vec(manifest)?);
    let len = u32::try_from(frame.len())?;
    enc.write_all(&SKIPPABLE_MAGIC.to_le_bytes())?;
    enc.write_all(&len.to_le_bytes())?;
    enc.write_all(&frame)?;

    let mut z = zstd::Encoder::new(enc, ZSTD_LEVEL)?;
    let mut src = BufReader::with_capacity(1 << 20, File::open(db)?);
    io::copy(&mut src, &mut z)?;
    let enc = z.finish()?;
    let hashing = enc.finish()?;
    let (buf, hash, size) = hashing.finish();
    let file = buf.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((hash, size))
}

/// Decrypts `backup` with any of `identities` (age secret key strings) into a new file
/// `out`, and checks the database's SHA-256 against the manifest. On error `out` is
/// removed, so a failed open leaves nothing behind.
pub fn open(backup: &Path, identities: &[String], out: &Path) -> Result<Manifest, OpenError> {
    if out.exists() {
        // Not ours to overwrite, nor to remove on the way out.
        return Err(OpenError::Io(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", out.display()),
        )));
    }
    let r = open_inner(backup, identities, out);
    if r.is_err() {
        let _ = std::fs::remove_file(out);
    }
    r
}

fn open_inner(backup: &Path, identities: &[String], out: &Path) -> Result<Manifest, OpenError> {
    let file = File::open(backup).map_err(OpenError::Io)?;
    let len = file.metadata().map_err(OpenError::Io)?.len();
    let consumed = Rc::new(Cell::new(0u64));
    let reader = Counting {
        inner: BufReader::with_capacity(1 << 20, file),
        consumed: consumed.clone(),
    };
    // A chunk that fails authentication while the whole file has been read is the
    // last one: the file was cut short (or its very end damaged). Earlier: altered.
    let at_end = || consumed.get() >= len;
    decrypt_into(reader, identities, out).map_err(|e| match e {
        OpenError::Tampered | OpenError::Truncated if at_end() => OpenError::Truncated,
        OpenError::Truncated => OpenError::Tampered,
        e => e,
    })
}

/// Counts the bytes the decryptor has taken from the file.
struct Counting<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.consumed.set(self.consumed.get() + amt as u64);
        self.inner.consume(amt);
    }
}

fn decrypt_into<R: BufRead>(
    reader: R,
    identities: &[String],
    out: &Path,
) -> Result<Manifest, OpenError> {
    let ids: Vec<age::x25519::Identity> =
        identities.iter().filter_map(|s| s.parse().ok()).collect();
    let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| match e {
        age::DecryptError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            OpenError::Truncated
        }
        _ => OpenError::NotABackup,
    })?;
    let mut reader = decryptor
        .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::WrongKey,
            age::DecryptError::Io(io) => classify(io),
            _ => OpenError::Tampered,
        })?;

    let mut head = [0u8; 8];
    reader.read_exact(&mut head).map_err(classify)?;
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if magic != SKIPPABLE_MAGIC || len > 16 << 20 {
        return Err(OpenError::NotABackup);
    }
    let mut frame = vec![0u8; len];
    reader.read_exact(&mut frame).map_err(classify)?;
    let json = frame
        .strip_prefix(MANIFEST_TAG)
        .ok_or(OpenError::NotABackup)?;
    let manifest: Manifest = serde_json::from_slice(json).map_err(|_| OpenError::NotABackup)?;

    let out_file = crate::crypto::create_private_file(out).map_err(OpenError::Io)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, out_file));
    let mut z = zstd::Decoder::new(reader).map_err(OpenError::Io)?;
    io::copy(&mut z, &mut w).map_err(|e| {
        // A write error is ours (disk full); a read error is the file's.
        if e.kind() == io::ErrorKind::StorageFull {
            OpenError::Io(e)
        } else {
            classify(e)
        }
    })?;
    let (buf, hash, size) = w.finish();
    let f = buf
        .into_inner()
        .map_err(|e| OpenError::Io(e.into_error()))?;
    f.sync_all().map_err(OpenError::Io)?;
    if hash != manifest.db_sha256 || size != manifest.db_bytes {
        return Err(OpenError::Checksum);
    }
    Ok(manifest)
}

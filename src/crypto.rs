//! Randomness, hashing and the master key.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// `n` bytes from a CSPRNG in this thread (ChaCha12, seeded from the operating system and
/// reseeded every 64 KiB: `rand::rng()`), for tokens, ids, nonces and salts. A hot path
/// takes several of these per request, and each `getrandom` system call cost about as
/// much as the rest of the token's work in the writer thread together.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::Rng;
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// `n` bytes straight from the operating system's CSPRNG, for keys that live long
/// (master and data keys, the TOTP secret): made rarely, so no reason to trust
/// anything in between.
pub fn key_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS RNG failing means the machine cannot do cryptography at all.
    if let Err(e) = getrandom::fill(&mut buf) {
        panic!("operating system random generator failed: {e}");
    }
    buf
}

/// An unguessable URL-safe token with 256 random bits (sessions, links, bearer tokens).
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// An opaque id: a type prefix and 80 random bits in lower-case base32.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = random_bytes::<10>();
    let mut out = String::with_capacity(prefix.len() + 17);
    out.push_str(prefix);
    out.push('_');
    let mut acc: u128 = 0;
    for b in bytes {
        acc = (acc << 8) | u128::from(b);
    }
    for i in (0..16).rev() {
        out.push(ALPHABET[((acc >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// Tokens are stored by their SHA-256 only; a database leak then yields nothing usable.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length.
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Creates a new file readable by its owner only (mode 0600); fails if it exists.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// The key kept outside the database. Every purpose uses its own derived subkey, so a
/// value computed for one purpose is useless for another.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Reads the key file, or creates it (mode 0600) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            return Self::load(path);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let key = Self {
            bytes: key_bytes::<32>(),
        };
        let mut f = create_private_file(path)
            .with_context(|| format!("cannot create master key file {}", path.display()))?;
        writeln!(f, "otm-master-key-v1:{}", hex::encode(key.bytes))?;
        f.sync_all()?;
        Ok(key)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read master key file {}", path.display()))?;
        // The first line is the first key; `key rotate` appends more (see keyring.rs).
        let hexpart = text
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .strip_prefix("otm-master-key-v1:")
            .with_context(|| format!("{} is not a master key file", path.display()))?;
        let raw = hex::decode(hexpart)
            .ok()
            .filter(|b| b.len() == 32)
            .with_context(|| format!("{} holds a damaged master key", path.display()))?;
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&raw);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                bail!(
                    "master key file {} is readable by others (mode {mode:03o}); fix it with: chmod 600 {}",
                    path.display(),
                    crate::files::shell_quoted(path)
                );
            }
        }
        Ok(Self { bytes })
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { bytes }
    }

    /// A 32-byte subkey for one named purpose.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let hexed = hmac_hex(&self.bytes, &[b"otm-derive-v1", purpose.as_bytes()]);
        let mut out = [0u8; 32];
        if let Ok(raw) = hex::decode(hexed) {
            out.copy_from_slice(&raw);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("cmp");
        assert!(a.starts_with("cmp_") && a.len() == 20, "{a}");
        assert_ne!(a, new_id("cmp"));
    }

    #[test]
    fn hmac_frames_its_parts() {
        // ("ab","c") and ("a","bc") must not collide.
        assert_ne!(
            hmac_hex(b"k", &[b"ab", b"c"]),
            hmac_hex(b"k", &[b"a", b"bc"])
        );
    }

    #[test]
    fn master_key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/master.key");
        let k1 = MasterKey::load_or_create(&path).unwrap();
        let k2 = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(k1.derive("x"), k2.derive("x"));
        assert_ne!(k1.derive("x"), k1.derive("y"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}

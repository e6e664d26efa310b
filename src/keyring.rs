//! Sealing secrets at rest: XChaCha20-Poly1305 under master keys kept in a file outside
//! the database. Every sealed value names the key that sealed it, so `key rotate` can
//! add a key, re-seal everything under it, and a running server that meets a value
//! sealed under a key it has not seen reloads the file.
//!
//! File format, one key per line (the last is the one that seals):
//! `otm-master-key-v1:<hex>` (the first key ever made, id 1) or `otm-key:<id>:<hex>`.
//!
//! Omie credentials opened in the last minute are remembered ([`Opened`],
//! [`Keyring::open_remembered`]): an application reads the same company's credentials over
//! and over, and opening the two sealed values was ~4 µs of its ~30 µs outside the
//! writer thread. Nothing else is remembered (mail bodies, second-factor secrets).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::bounded::Bounded;
use crate::crypto::{MasterKey, key_bytes, random_bytes};

#[derive(Clone)]
struct Keys {
    by_id: BTreeMap<u32, [u8; 32]>,
    current: u32,
}

pub struct Keyring {
    path: PathBuf,
    keys: RwLock<Keys>,
    opened: Opened,
}

/// How long an opened value is remembered, and how many are.
const OPENED_FOR: Duration = Duration::from_secs(60);
const OPENED_CAP: usize = 4096;

/// Values opened lately, by their sealed text (unique: each seal draws a fresh nonce),
/// with the `aad` they opened under: a look-up under another `aad` is a miss and goes
/// to the cipher, which refuses it as before. What it returns is exactly what opening
/// would (a sealed text never changes meaning while its key exists). Expired entries go
/// at the first use of the memo a second or more after the last sweep; the plaintext is
/// wiped from memory when dropped, and a reload of the key file forgets everything.
#[derive(Default)]
struct Opened(Mutex<Memo>);

#[derive(Default)]
struct Memo {
    /// sealed text → (the aad it opened under, the plaintext), until when.
    map: Bounded<String, (String, Zeroizing<Vec<u8>>), Instant>,
    swept: Option<Instant>,
}

impl Memo {
    /// Drops what expired, at most once a second (a scan of up to [`OPENED_CAP`]).
    fn sweep(&mut self, now: Instant) {
        if self
            .swept
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            self.map.drop_expired(now);
            self.swept = Some(now);
        }
    }
}

impl Opened {
    fn lock(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, aad: &str, sealed: &str) -> Option<Vec<u8>> {
        let (mut memo, now) = (self.lock(), Instant::now());
        memo.sweep(now);
        match memo.map.get(sealed, now) {
            Some((a, mut plain)) if a == aad => Some(std::mem::take(&mut *plain)),
            _ => None,
        }
    }

    fn put(&self, aad: &str, sealed: &str, plain: &[u8]) {
        let (mut memo, now) = (self.lock(), Instant::now());
        memo.sweep(now);
        let value = (aad.to_string(), Zeroizing::new(plain.to_vec()));
        memo.map
            .put(sealed.to_string(), value, now + OPENED_FOR, now, OPENED_CAP);
    }

    fn clear(&self) {
        self.lock().map = Bounded::new();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed under key {0}, which the key file does not hold")]
    UnknownKey(u32),
    #[error("sealed value does not open: wrong key, or it was changed")]
    Tampered,
}

fn parse_file(text: &str, path: &Path) -> anyhow::Result<Keys> {
    let mut by_id = BTreeMap::new();
    let mut current = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (id, hexpart) = if let Some(h) = line.strip_prefix("otm-master-key-v1:") {
            (1, h)
        } else if let Some(rest) = line.strip_prefix("otm-key:") {
            let (id, h) = rest.split_once(':').context("bad key line")?;
            (id.parse::<u32>().context("bad key id")?, h)
        } else {
            bail!("{} is not a master key file", path.display());
        };
        let raw = hex::decode(hexpart).ok().filter(|b| b.len() == 32);
        let raw =
            raw.with_context(|| format!("{} holds a damaged key (id {id})", path.display()))?;
        let mut k = [0u8; 32];
        k.copy_from_slice(&raw);
        by_id.insert(id, k);
        current = id;
    }
    if by_id.is_empty() {
        bail!("{} holds no key", path.display());
    }
    Ok(Keys { by_id, current })
}

impl Keyring {
    /// Loads the key file (made by [`MasterKey::load_or_create`] on first start).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        // Also checks the file's permissions.
        MasterKey::load(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read master key file {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            keys: RwLock::new(parse_file(&text, path)?),
            opened: Opened::default(),
        })
    }

    pub fn current_id(&self) -> u32 {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).current
    }

    /// The first key's subkey for `purpose`, as derived before keys could rotate (the
    /// audit chain of older databases was keyed with it).
    pub fn legacy_derive(&self, purpose: &str) -> Option<[u8; 32]> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let first = keys.by_id.get(&1)?;
        Some(MasterKey::from_bytes(*first).derive(purpose))
    }

    /// The age identity (`AGE-SECRET-KEY-1...`) that opens backups made under each key,
    /// current key last. Derived from the key, so the key file alone opens every backup,
    /// and the standard `age` tool can too.
    pub fn backup_identities(&self) -> Vec<(u32, String)> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        keys.by_id
            .iter()
            .filter_map(|(id, k)| age_identity_string(k).map(|s| (*id, s)))
            .collect()
    }

    /// The age recipient new backups are encrypted to (the current key's identity).
    pub fn backup_recipient(&self) -> anyhow::Result<age::x25519::Recipient> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        let s = age_identity_string(&keys.by_id[&keys.current])
            .context("cannot derive the backup key")?;
        let id: age::x25519::Identity = s
            .parse()
            .map_err(|e| anyhow::anyhow!("cannot derive the backup key: {e}"))?;
        Ok(id.to_public())
    }

    /// Re-reads the key file (after `key rotate` added a key).
    pub fn reload(&self) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.path)?;
        let parsed = parse_file(&text, &self.path)?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = parsed;
        self.opened.clear();
        Ok(())
    }

    /// Seals `plaintext`, bound to `aad` (what the value is and whose), under the current key.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        seal_with(keys.current, &keys.by_id[&keys.current], aad, plaintext)
    }

    pub fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let (id, _) = parse_sealed(sealed)?;
        let key = self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(&id)
            .copied();
        let key = match key {
            Some(k) => k,
            None => {
                // Rotated by another process since we started: look again.
                let _ = self.reload();
                self.keys
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .by_id
                    .get(&id)
                    .copied()
                    .ok_or(OpenError::UnknownKey(id))?
            }
        };
        open_with(&key, aad, sealed)
    }

    pub fn open_string(&self, aad: &str, sealed: &str) -> Result<String, OpenError> {
        String::from_utf8(self.open(aad, sealed)?).map_err(|_| OpenError::Tampered)
    }

    /// [`Self::open_string`], answered from memory when the same sealed text opened under
    /// the same `aad` in the last minute (see [`Opened`]). For the Omie credentials only:
    /// values read again and again, that stay stored (sealed) while remembered.
    pub fn open_remembered(&self, aad: &str, sealed: &str) -> Result<String, OpenError> {
        let plain = match self.opened.get(aad, sealed) {
            Some(plain) => plain,
            None => {
                let plain = self.open(aad, sealed)?;
                self.opened.put(aad, sealed, &plain);
                plain
            }
        };
        String::from_utf8(plain).map_err(|_| OpenError::Tampered)
    }

    /// Adds a new key to the file (written to a temporary file, synced, then renamed
    /// over the old one) and makes it the current one. Returns its id.
    pub fn add_key(&self) -> anyhow::Result<u32> {
        let text = std::fs::read_to_string(&self.path)?;
        let keys = parse_file(&text, &self.path)?;
        let id = keys.by_id.keys().max().copied().unwrap_or(0) + 1;
        let new_key = key_bytes::<32>();
        let mut body = text.trim_end().to_string();
        body.push_str(&format!("\notm-key:{id}:{}\n", hex::encode(new_key)));
        let tmp = self.path.with_extension("key.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(body.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        self.reload()?;
        Ok(id)
    }
}

fn age_identity_string(key: &[u8; 32]) -> Option<String> {
    let secret = MasterKey::from_bytes(*key).derive("backup-age-identity");
    let hrp = bech32::Hrp::parse("age-secret-key-").ok()?;
    let s = bech32::encode::<bech32::Bech32>(hrp, &secret).ok()?;
    Some(s.to_uppercase())
}

fn seal_with(id: u32, key: &[u8; 32], aad: &str, plaintext: &[u8]) -> String {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce_bytes = random_bytes::<24>();
    let nonce = XNonce::from(nonce_bytes);
    // Encryption with a valid key and nonce cannot fail.
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut blob = nonce_bytes.to_vec();
    blob.extend_from_slice(&ct);
    format!("v1.{id}.{}", URL_SAFE_NO_PAD.encode(blob))
}

fn parse_sealed(sealed: &str) -> Result<(u32, Vec<u8>), OpenError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some("v1"), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(OpenError::Malformed);
    };
    let id = id.parse().map_err(|_| OpenError::Malformed)?;
    let blob = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| OpenError::Malformed)?;
    if blob.len() < 24 + 16 {
        return Err(OpenError::Malformed);
    }
    Ok((id, blob))
}

fn open_with(key: &[u8; 32], aad: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
    let (_, blob) = parse_sealed(sealed)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce_bytes = [0u8; 24];
    nonce_bytes.copy_from_slice(&blob[..24]);
    cipher
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: &blob[24..],
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| OpenError::Tampered)
}

/// The key id a sealed value names, if well-formed.
pub fn key_id_of(sealed: &str) -> Option<u32> {
    parse_sealed(sealed).ok().map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> (tempfile::TempDir, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        let r = Keyring::load(&path).unwrap();
        (dir, r)
    }

    #[test]
    fn an_opened_value_is_remembered_within_bounds_and_forgotten_on_reload() {
        let (_d, r) = ring();
        let len = |r: &Keyring| r.opened.len();
        let s = r.seal("omie:cmp_a:app_key", b"1234567");
        // A plain open remembers nothing.
        assert_eq!(r.open("omie:cmp_a:app_key", &s).unwrap(), b"1234567");
        assert_eq!(len(&r), 0);
        assert_eq!(
            r.open_remembered("omie:cmp_a:app_key", &s).unwrap(),
            "1234567"
        );
        assert_eq!(len(&r), 1);
        // Remembered: the second answer comes from memory, and is the same.
        assert_eq!(
            r.open_remembered("omie:cmp_a:app_key", &s).unwrap(),
            "1234567"
        );
        // Under another context it is still refused, remembered or not.
        for other in [
            r.open_remembered("omie:cmp_b:app_key", &s),
            r.open_string("omie:cmp_b:app_key", &s),
        ] {
            assert!(matches!(other, Err(OpenError::Tampered)));
        }
        r.reload().unwrap();
        assert_eq!(len(&r), 0);
        for i in 0..OPENED_CAP + 10 {
            let v = r.seal("x", i.to_string().as_bytes());
            assert_eq!(r.open_remembered("x", &v).unwrap(), i.to_string());
        }
        assert!(len(&r) <= OPENED_CAP);
        // What expired goes at the next sweep, used or not.
        {
            let mut memo = r.opened.lock();
            memo.map.expire_all_at(Instant::now());
            memo.swept = None;
        }
        assert!(r.open_remembered("x", &s).is_err());
        assert_eq!(len(&r), 0);
    }

    #[test]
    fn seals_opens_and_binds_to_its_context() {
        let (_d, r) = ring();
        let s = r.seal("omie:cmp_a:app_secret", b"segredo");
        assert!(!s.contains("segredo"));
        assert_eq!(r.open("omie:cmp_a:app_secret", &s).unwrap(), b"segredo");
        assert!(matches!(
            r.open("omie:cmp_b:app_secret", &s),
            Err(OpenError::Tampered)
        ));
        let mut bad = s.clone();
        bad.pop();
        bad.push(if s.ends_with('A') { 'B' } else { 'A' });
        assert!(r.open("omie:cmp_a:app_secret", &bad).is_err());
        assert_ne!(
            r.seal("x", b"same"),
            r.seal("x", b"same"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn rotation_adds_a_key_and_old_values_still_open() {
        let (dir, r) = ring();
        let old = r.seal("a", b"v");
        assert_eq!(key_id_of(&old), Some(1));
        let id = r.add_key().unwrap();
        assert_eq!(id, 2);
        let new = r.seal("a", b"v");
        assert_eq!(key_id_of(&new), Some(2));
        assert_eq!(r.open("a", &old).unwrap(), b"v");
        // Another process that loaded the file before the rotation finds the new key.
        let path = dir.path().join("master.key");
        let stale = Keyring {
            opened: Opened::default(),
            path: path.clone(),
            keys: RwLock::new(
                parse_file("otm-master-key-v1:00", &path)
                    .unwrap_or_else(|_| r.keys.read().unwrap().clone()),
            ),
        };
        *stale.keys.write().unwrap() = Keys {
            by_id: r
                .keys
                .read()
                .unwrap()
                .by_id
                .iter()
                .filter(|(k, _)| **k == 1)
                .map(|(k, v)| (*k, *v))
                .collect(),
            current: 1,
        };
        assert_eq!(stale.open("a", &new).unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

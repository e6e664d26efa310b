//! Growing delays after failed sign-ins, per account and per IP address, and the
//! sign-in policy built on them ([`sign_in_keys`]).
//!
//! After [`FREE_FAILURES`] failures in a row, each further attempt must wait
//! 4, 8, 16, ... seconds (doubling with each failure), capped at [`MAX_DELAY_SECS`]. The cap, and the
//! counter forgetting failures older than [`FORGET_AFTER_SECS`], mean nobody can be
//! locked out for good: the real owner waits at most 15 minutes, while an attacker is
//! slowed to a handful of guesses an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FREE_FAILURES: u32 = 5;
pub const MAX_DELAY_SECS: u64 = 15 * 60;
const FORGET_AFTER_SECS: u64 = 60 * 60;
/// Bounds memory under a flood of distinct keys.
const MAX_KEYS: usize = 100_000;

/// Who is trying a person's password, as far as the throttle is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInClient {
    /// A browser whose device cookie (its SHA-256 here) signed in to this account before.
    KnownDevice(String),
    /// An address this account signed in from successfully in the last
    /// `KNOWN_IP_DAYS` days (`services::known_clients`).
    KnownIp,
    /// Anyone else, including every client of an unknown e-mail.
    Unknown,
}

/// The throttle keys a password attempt is counted on, and whether one of them is the
/// account's (whose failures are also written to the person's row).
#[derive(Debug, PartialEq, Eq)]
pub struct SignInKeys {
    pub keys: Vec<String>,
    pub account: Option<String>,
}

/// The sign-in policy. Failures are counted *before* bcrypt on every key returned, and
/// an attempt waits while any of its keys is in a delay:
///
/// - every attempt counts on its **address** (`ip:`), so a guessing client waits for
///   its own mistakes, whichever accounts it tries;
/// - an attempt from a client that is **not known** for the account also counts on the
///   **account** (`acct:`): once its budget is spent, unknown clients wait, however
///   many addresses the guessing comes from;
/// - an attempt from a client **known** for the account (an address it signed in from
///   recently) skips the account's budget: the owner's usual client is never refused
///   because someone else guessed;
/// - a browser with the account's **device cookie** counts on that device only, so the
///   owner's browser gets in even from an address an attacker shares and exhausted.
pub fn sign_in_keys(ip: &str, account: &str, client: &SignInClient) -> SignInKeys {
    let acct = format!("acct:{}", account.trim().to_lowercase());
    match client {
        SignInClient::KnownDevice(hash) => SignInKeys {
            keys: vec![format!("device:{hash}")],
            account: None,
        },
        SignInClient::KnownIp => SignInKeys {
            keys: vec![format!("ip:{ip}")],
            account: None,
        },
        SignInClient::Unknown => SignInKeys {
            keys: vec![format!("ip:{ip}"), acct.clone()],
            account: Some(acct),
        },
    }
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    last: Instant,
}

#[derive(Default)]
pub struct Throttle {
    map: Mutex<HashMap<String, Record>>,
}

pub fn delay_for(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (failures - FREE_FAILURES + 2).min(20);
    Duration::from_secs((1u64 << exp).min(MAX_DELAY_SECS))
}

impl Throttle {
    /// Seconds to wait before `key` may try again, if any.
    pub fn wait(&self, key: &str) -> Option<u64> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let rec = map.get(key)?;
        let until = rec.last + delay_for(rec.failures);
        let now = Instant::now();
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    pub fn fail(&self, key: &str) -> u32 {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Self::fail_in(&mut map, key)
    }

    /// Counts an attempt as failed *before* it is checked, under one lock with the
    /// check: concurrent wrong guesses cannot all pass while the first is in bcrypt.
    /// Returns the failures now counted for the last key, or the seconds to wait.
    /// A right answer then [`clear`](Self::clear)s the keys.
    pub fn reserve(&self, keys: &[&str]) -> Result<u32, u64> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let wait = keys
            .iter()
            .filter_map(|k| map.get(*k))
            .map(|rec| rec.last + delay_for(rec.failures))
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
            .max();
        if let Some(w) = wait {
            return Err(w);
        }
        let mut last = 0;
        for k in keys {
            last = Self::fail_in(&mut map, k);
        }
        Ok(last)
    }

    /// Restores what the database remembers of a key after a restart: `failures` in a
    /// row, the last `ago` before now. Memory that knows more wins.
    pub fn seed(&self, key: &str, failures: u32, ago: Duration) {
        if failures == 0 || ago.as_secs() >= FORGET_AFTER_SECS {
            return;
        }
        let now = Instant::now();
        let last = now.checked_sub(ago).unwrap_or(now);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string())
            .or_insert(Record { failures, last });
    }

    fn fail_in(map: &mut HashMap<String, Record>, key: &str) -> u32 {
        let now = Instant::now();
        if map.len() >= MAX_KEYS {
            map.retain(|_, r| now.duration_since(r.last).as_secs() < FORGET_AFTER_SECS);
        }
        let rec = map.entry(key.to_string()).or_insert(Record {
            failures: 0,
            last: now,
        });
        if now.duration_since(rec.last).as_secs() >= FORGET_AFTER_SECS {
            rec.failures = 0;
        }
        rec.failures += 1;
        rec.last = now;
        rec.failures
    }

    pub fn clear(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(delay_for(4), Duration::ZERO);
        assert_eq!(delay_for(5), Duration::from_secs(4));
        assert_eq!(delay_for(8), Duration::from_secs(32));
        assert_eq!(delay_for(40), Duration::from_secs(MAX_DELAY_SECS));
    }

    #[test]
    fn waits_after_free_failures_and_clears() {
        let t = Throttle::default();
        for _ in 0..FREE_FAILURES - 1 {
            t.fail("a");
        }
        assert_eq!(t.wait("a"), None);
        t.fail("a");
        assert!(t.wait("a").is_some());
        assert_eq!(t.wait("b"), None);
        t.clear("a");
        assert_eq!(t.wait("a"), None);
    }

    #[test]
    fn reservations_count_before_the_check() {
        let t = Throttle::default();
        // Five concurrent guesses each take a reservation; the sixth must wait.
        for _ in 0..FREE_FAILURES {
            assert!(t.reserve(&["ip", "acct"]).is_ok());
        }
        assert!(t.reserve(&["ip", "acct"]).is_err());
        t.clear("acct");
        t.clear("ip");
        assert_eq!(t.reserve(&["ip", "acct"]), Ok(1));
    }

    #[test]
    fn a_known_client_skips_the_spent_account_budget_but_not_its_own() {
        let t = Throttle::default();
        let attacker = sign_in_keys("203.0.113.7", "Dona@x.com", &SignInClient::Unknown);
        fn refs(k: &SignInKeys) -> Vec<&str> {
            k.keys.iter().map(String::as_str).collect()
        }
        for _ in 0..FREE_FAILURES {
            assert!(t.reserve(&refs(&attacker)).is_ok());
        }
        assert!(t.reserve(&refs(&attacker)).is_err(), "the attacker waits");
        // Another unknown address waits too: the account's budget is spent.
        let other = sign_in_keys("198.51.100.9", "dona@x.com", &SignInClient::Unknown);
        assert!(t.reserve(&refs(&other)).is_err());
        // The owner's usual address and browser do not.
        let usual = sign_in_keys("192.0.2.1", "dona@x.com", &SignInClient::KnownIp);
        assert!(t.reserve(&refs(&usual)).is_ok());
        assert_eq!(usual.account, None);
        let device = SignInClient::KnownDevice("abc".into());
        let browser = sign_in_keys("203.0.113.7", "dona@x.com", &device);
        assert!(
            t.reserve(&refs(&browser)).is_ok(),
            "even from the attacker's address"
        );
    }

    #[test]
    fn seeded_failures_lock_like_live_ones() {
        let t = Throttle::default();
        t.seed("acct", FREE_FAILURES, Duration::from_secs(1));
        assert!(t.wait("acct").is_some());
        t.seed("old", FREE_FAILURES, Duration::from_secs(FORGET_AFTER_SECS));
        assert_eq!(t.wait("old"), None);
    }
}

//! Growing delays after failed sign-ins, per account and per IP address.
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
    fn seeded_failures_lock_like_live_ones() {
        let t = Throttle::default();
        t.seed("acct", FREE_FAILURES, Duration::from_secs(1));
        assert!(t.wait("acct").is_some());
        t.seed("old", FREE_FAILURES, Duration::from_secs(FORGET_AFTER_SECS));
        assert_eq!(t.wait("old"), None);
    }
}

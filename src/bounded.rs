//! A map with a size bound and an expiry per entry: the hot caches (`services::hot`, with
//! wall-clock expiries, since a token's `expires_at` is one) and the keyring's memo of
//! opened credentials (`keyring`, with `Instant`s). When full, expired entries go first,
//! then an arbitrary eighth.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

pub(crate) struct Bounded<K, V, T> {
    map: HashMap<K, (V, T)>,
}

impl<K, V, T> Default for Bounded<K, V, T> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone, T: Ord + Copy> Bounded<K, V, T> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The value of `k` while it has not expired (an expired one is dropped).
    pub(crate) fn get<Q>(&mut self, k: &Q, now: T) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        match self.map.get(k) {
            Some((v, until)) if now < *until => Some(v.clone()),
            Some(_) => {
                self.map.remove(k);
                None
            }
            None => None,
        }
    }

    /// Stores `v` until `until`, within `cap` entries (0: store nothing).
    pub(crate) fn put(&mut self, k: K, v: V, until: T, now: T, cap: usize) {
        if cap == 0 || until <= now {
            return;
        }
        if self.map.len() >= cap && !self.map.contains_key(&k) {
            self.drop_expired(now);
            if self.map.len() >= cap {
                // Still full of live entries: an eighth goes at once (arbitrary ones),
                // so the scan above is not paid again at every insert.
                let victims: Vec<K> = self.map.keys().take(cap / 8 + 1).cloned().collect();
                for v in victims {
                    self.map.remove(&v);
                }
            }
        }
        self.map.insert(k, (v, until));
    }

    pub(crate) fn drop_expired(&mut self, now: T) {
        self.map.retain(|_, (_, until)| now < *until);
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(|k, (v, _)| keep(k, v));
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// When `k` expires (tests).
    #[cfg(test)]
    pub(crate) fn until<Q>(&self, k: &Q) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map.get(k).map(|(_, until)| *until)
    }

    /// Every entry expires at `t` (tests that need time to pass).
    #[cfg(test)]
    pub(crate) fn expire_all_at(&mut self, t: T) {
        for (_, until) in self.map.values_mut() {
            *until = t;
        }
    }
}

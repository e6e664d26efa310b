//! The company search index (issue 14): the searchable text of every company in memory,
//! in list order, so that a search finds its page without SQL walking an index.
//!
//! - **What it holds.** For each company, in the order of the lists (`sort_key`, `id`):
//!   its id, its sort key, its status and its folded search text (`search_text`, exactly
//!   as stored), the texts end to end in one buffer; and for every 3-byte sequence of
//!   those texts, the positions (in list order) of the companies whose text has it,
//!   each as the varint of its distance from the one before (plain `u32`s made the whole
//!   index 39.9 MB at 100,000 companies; this, 28.3 MB), with a skip entry every [`SKIP`]
//!   positions so that a later page starts near its cursor without decoding the list
//!   from the beginning.
//! - **A search** takes, for each term it tests (the folded term and, when the term can be
//!   a CNPJ, its unmasked form: the same two tests as the SQL walk), the shortest of its
//!   trigrams' lists, walks those lists together in list order from the page's cursor,
//!   and keeps the companies whose text really contains a term (`memchr::memmem`) and
//!   whose status the list shows, until it has one more than the page. A term shorter
//!   than three bytes scans the text buffer itself. The page's rows are then read by id
//!   from SQL, which tests the status, the filters and the text again.
//! - **Never stale.** Migration 0031 sets `companies_version.v` to a new random value in
//!   every transaction that changes a company's searchable columns (whoever writes: this
//!   process, the command line, `sqlite3`). The index remembers the value it was built
//!   at; a search reads the value in the same read transaction as its rows and uses the
//!   index only when they are equal, so the index answers exactly for the snapshot the
//!   rows come from. Otherwise the search is answered by SQL as before, and the search
//!   rings for a build: one thread of its own builds the index (at start, and after
//!   each ring), so that every build allocates from the same allocator arena (builds
//!   on the blocking pool's many threads left a copy in each thread's arena: anonymous
//!   memory went from 45 to 97 MB after three builds at 100,000 companies). About
//!   135–190 ms per build at 100,000 companies (release build).
//! - **Memory.** [`Built::bytes`]; logged at each build.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, RwLock};

use memchr::memmem;

use crate::domain::CompanyStatus;

/// A multiplicative hash for the 24-bit trigram keys (SipHash costs more than the
/// whole per-trigram work of a build).
#[derive(Default)]
struct GramHasher(u64);

impl Hasher for GramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_right(20);
    }
}

type GramMap<V> = HashMap<u32, V, BuildHasherDefault<GramHasher>>;

/// Strings end to end in one buffer.
#[derive(Default)]
struct Strings {
    buf: String,
    ends: Vec<u32>,
}

impl Strings {
    fn push(&mut self, s: &str) -> Option<()> {
        self.buf.push_str(s);
        self.ends.push(u32::try_from(self.buf.len()).ok()?);
        Some(())
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }
}

/// The byte between two texts in the buffer: no term may contain it (nor any control
/// character), so a match never spans two companies.
const GAP: u8 = 0;

fn gram(w: &[u8]) -> Option<u32> {
    match w {
        [a, b, c] if *a >= 0x20 && *b >= 0x20 && *c >= 0x20 => {
            Some(u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c))
        }
        _ => None,
    }
}

/// One build of the index, for one value of `companies_version`.
#[derive(Default)]
pub struct Built {
    version: i64,
    ids: Strings,
    sort_keys: Strings,
    status: Vec<CompanyStatus>,
    /// The texts, each followed by [`GAP`].
    text: Vec<u8>,
    /// Where each text starts in `text`, and one more: the end of the buffer.
    starts: Vec<u32>,
    /// Trigram → where its list is in `postings` and `skips`.
    grams: GramMap<Gram>,
    /// Positions in list order, trigram after trigram, as varint gaps (see [`Postings`]).
    postings: Vec<u8>,
    /// For each list, after every [`SKIP`] positions: where decoding can resume.
    skips: Vec<Skip>,
}

/// Where a trigram's list is.
#[derive(Clone, Copy)]
struct Gram {
    /// First byte in `postings`.
    at: u32,
    /// How many positions.
    n: u32,
    /// First of its `(n - 1) / SKIP` entries in `skips`.
    skip_at: u32,
}

/// A point where decoding of a list can resume: before its position `k * SKIP` (k ≥ 1),
/// the byte offset there and the position before it plus one.
#[derive(Clone, Copy)]
struct Skip {
    last: u32,
    at: u32,
}

/// Positions between two skip entries: small enough that a seek decodes a few dozen
/// bytes, large enough that a skip entry (8 bytes) costs an eighth of a byte per position.
const SKIP: u32 = 64;

/// Bytes of `v` as a varint (7 bits a byte, low first).
fn varint_len(v: u32) -> u32 {
    match v {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        0x4000..0x20_0000 => 3,
        0x20_0000..0x1000_0000 => 4,
        _ => 5,
    }
}

fn put_varint(out: &mut [u8], mut at: usize, mut v: u32) -> usize {
    while v >= 0x80 {
        out[at] = (v as u8) | 0x80;
        v >>= 7;
        at += 1;
    }
    out[at] = v as u8;
    at + 1
}

/// One trigram's positions, decoded as they are walked. `last` is the previous position
/// plus one (0 before the first); each varint is the next position plus one minus `last`
/// (never 0: a list holds a company once).
#[derive(Default)]
struct Postings<'a> {
    bytes: &'a [u8],
    at: usize,
    left: u32,
    last: u32,
}

impl Iterator for Postings<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        let mut v = 0u32;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        self.left -= 1;
        self.last = self.last.wrapping_add(v);
        Some(self.last.wrapping_sub(1))
    }
}

/// Which statuses a list shows: one, or all but archived.
#[derive(Clone, Copy, Debug)]
pub enum Shown {
    Only(CompanyStatus),
    NotArchived,
}

impl Shown {
    fn shows(self, s: CompanyStatus) -> bool {
        match self {
            Self::Only(o) => s == o,
            Self::NotArchived => s != CompanyStatus::Archived,
        }
    }
}

/// Takes the companies one by one, in list order, and makes a [`Built`].
#[derive(Default)]
pub struct Builder {
    b: Built,
    /// Trigram → (positions, the last position plus one, bytes of its varints).
    counts: GramMap<(u32, u32, u32)>,
    /// Set when the data does not fit the 32-bit offsets: no index then.
    overflow: bool,
}

impl Builder {
    /// A builder that fills the buffers of an index no longer in use (their capacity
    /// kept), so that a build after the first allocates almost nothing: freeing and
    /// allocating 35 MB at each build let the allocator's heap grow build after build.
    pub fn reusing(old: Option<Built>) -> Self {
        let Some(mut b) = old else {
            return Self::default();
        };
        b.version = 0;
        b.ids.buf.clear();
        b.ids.ends.clear();
        b.sort_keys.buf.clear();
        b.sort_keys.ends.clear();
        b.status.clear();
        b.text.clear();
        b.starts.clear();
        b.grams.clear();
        b.postings.clear();
        b.skips.clear();
        Self {
            b,
            ..Self::default()
        }
    }

    /// The next company in list order (`sort_key`, `id`).
    pub fn push(&mut self, id: &str, sort_key: &str, status: CompanyStatus, search_text: &str) {
        if self.overflow || self.try_push(id, sort_key, status, search_text).is_none() {
            self.overflow = true;
        }
    }

    fn try_push(
        &mut self,
        id: &str,
        sort_key: &str,
        status: CompanyStatus,
        search_text: &str,
    ) -> Option<()> {
        let b = &mut self.b;
        let rank = u32::try_from(b.status.len()).ok()?;
        b.ids.push(id)?;
        b.sort_keys.push(sort_key)?;
        b.status.push(status);
        b.starts.push(u32::try_from(b.text.len()).ok()?);
        b.text.extend_from_slice(search_text.as_bytes());
        b.text.push(GAP);
        let next = rank.checked_add(1)?;
        for g in search_text.as_bytes().windows(3).filter_map(gram) {
            let c = self.counts.entry(g).or_insert((0, 0, 0));
            if c.1 != next {
                *c = (c.0 + 1, next, c.2.checked_add(varint_len(next - c.1))?);
            }
        }
        Some(())
    }

    /// The index of what was pushed, read at `version`; `None` when it did not fit.
    pub fn finish(self, version: i64) -> Option<Built> {
        let Builder {
            mut b,
            counts,
            overflow,
        } = self;
        if overflow {
            return None;
        }
        b.version = version;
        b.starts.push(u32::try_from(b.text.len()).ok()?);
        // Each trigram's companies, in list order, trigram after trigram: first where
        // each list goes (its byte and skip lengths are known from the counting pass),
        // then the same walk again writes each position where its list is.
        let (mut at, mut skip_at) = (0u32, 0u32);
        // Trigram → (next byte, last position plus one, positions written, next skip).
        let mut fill: GramMap<(u32, u32, u32, u32)> = GramMap::default();
        fill.reserve(counts.len());
        b.grams.reserve(counts.len());
        for (g, &(n, _, len)) in &counts {
            b.grams.insert(*g, Gram { at, n, skip_at });
            fill.insert(*g, (at, 0, 0, skip_at));
            at = at.checked_add(len)?;
            skip_at = skip_at.checked_add((n - 1) / SKIP)?;
        }
        drop(counts);
        let mut postings = std::mem::take(&mut b.postings);
        postings.resize(at as usize, 0);
        let mut skips = std::mem::take(&mut b.skips);
        skips.resize(skip_at as usize, Skip { last: 0, at: 0 });
        for rank in 0..b.status.len() {
            let next = rank as u32 + 1;
            for g in b.text_of(rank).windows(3).filter_map(gram) {
                if let Some(f) = fill.get_mut(&g)
                    && f.1 != next
                {
                    if f.2 > 0 && f.2 % SKIP == 0 {
                        skips[f.3 as usize] = Skip { last: f.1, at: f.0 };
                        f.3 += 1;
                    }
                    let end = put_varint(&mut postings, f.0 as usize, next - f.1);
                    *f = (end as u32, next, f.2 + 1, f.3);
                }
            }
        }
        b.skips = skips;
        b.postings = postings;
        Some(b)
    }
}

impl Built {
    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.status.len()
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
    }

    /// The memory the index takes, roughly.
    pub fn bytes(&self) -> usize {
        self.ids.buf.capacity()
            + self.ids.ends.capacity() * 4
            + self.sort_keys.buf.capacity()
            + self.sort_keys.ends.capacity() * 4
            + self.status.capacity()
            + self.text.capacity()
            + self.starts.capacity() * 4
            + self.grams.capacity() * (4 + std::mem::size_of::<Gram>())
            + self.postings.capacity()
            + self.skips.capacity() * std::mem::size_of::<Skip>()
    }

    /// `g`'s positions from the first at or after `from`'s neighbourhood: decoding
    /// resumes at the last skip entry before `from` (positions before `from` may still
    /// come first; the caller passes them by).
    fn postings_from(&self, g: Option<&Gram>, from: usize) -> Postings<'_> {
        let Some(g) = g else {
            return Postings::default();
        };
        let skips = &self.skips[g.skip_at as usize..(g.skip_at + (g.n - 1) / SKIP) as usize];
        // Skip k resumes before position (k + 1) * SKIP, whose predecessor is `last - 1`.
        let k = skips.partition_point(|s| (s.last as usize) <= from);
        let (at, last, done) = match k.checked_sub(1) {
            Some(i) => (skips[i].at, skips[i].last, (i as u32 + 1) * SKIP),
            None => (g.at, 0, 0),
        };
        Postings {
            bytes: &self.postings,
            at: at as usize,
            left: g.n - done,
            last,
        }
    }

    fn text_of(&self, rank: usize) -> &[u8] {
        &self.text[self.starts[rank] as usize..self.starts[rank + 1] as usize - 1]
    }

    /// The first position after the keyset cursor `(sort_key, id)`.
    fn first_after(&self, after: Option<(&str, &str)>) -> usize {
        let Some((key, id)) = after else {
            return 0;
        };
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if (self.sort_keys.get(mid), self.ids.get(mid)) <= (key, id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The ids of the first `limit + 1` companies after `after`, in list order, that
    /// `shown` shows and whose text contains one of `terms` (folded, as the SQL walk
    /// tests them). `None` when a term cannot be searched here (empty, or with a control
    /// character): SQL answers then.
    pub fn find(
        &self,
        terms: &[String],
        shown: Shown,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Option<Vec<String>> {
        if terms.is_empty()
            || terms
                .iter()
                .any(|t| t.is_empty() || t.bytes().any(|b| b < 0x20))
        {
            return None;
        }
        let finders: Vec<memmem::Finder<'_>> = terms
            .iter()
            .map(|t| memmem::Finder::new(t.as_bytes()))
            .collect();
        let from = self.first_after(after);
        let want = limit.saturating_add(1);
        let ranks = if terms.iter().any(|t| t.len() < 3) {
            self.scan(&finders, shown, from, want)
        } else {
            self.walk(terms, &finders, shown, from, want)
        };
        Some(
            ranks
                .into_iter()
                .map(|r| self.ids.get(r).to_string())
                .collect(),
        )
    }

    /// Short terms: the text buffer itself, from `from` on.
    fn scan(
        &self,
        finders: &[memmem::Finder<'_>],
        shown: Shown,
        from: usize,
        want: usize,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        let mut rank = from;
        while out.len() < want && rank < self.len() {
            let at = self.starts[rank] as usize;
            let hay = &self.text[at..];
            let Some(hit) = finders.iter().filter_map(|f| f.find(hay)).min() else {
                break;
            };
            let pos = (at + hit) as u32;
            // The company whose text holds the match (a term never holds GAP).
            rank = self.starts.partition_point(|&s| s <= pos) - 1;
            if shown.shows(self.status[rank]) {
                out.push(rank);
            }
            rank += 1;
        }
        out
    }

    /// Terms of three bytes or more: each term's rarest trigram's list, merged.
    fn walk(
        &self,
        terms: &[String],
        finders: &[memmem::Finder<'_>],
        shown: Shown,
        from: usize,
        want: usize,
    ) -> Vec<usize> {
        let mut lists: Vec<Postings<'_>> = Vec::with_capacity(terms.len());
        for t in terms {
            let rarest = t
                .as_bytes()
                .windows(3)
                .map(|w| gram(w).and_then(|g| self.grams.get(&g)))
                .min_by_key(|g| g.map_or(0, |g| g.n))
                .flatten();
            lists.push(self.postings_from(rarest, from));
        }
        // Each list's next position at or after `from`.
        let mut heads: Vec<Option<u32>> = lists
            .iter_mut()
            .map(|l| l.find(|&r| r as usize >= from))
            .collect();
        let mut out = Vec::new();
        while out.len() < want {
            // The smallest next position among the lists.
            let Some(rank) = heads.iter().flatten().copied().min() else {
                break;
            };
            for (l, h) in lists.iter_mut().zip(heads.iter_mut()) {
                if *h == Some(rank) {
                    *h = l.next();
                }
            }
            let rank = rank as usize;
            if shown.shows(self.status[rank]) {
                let text = self.text_of(rank);
                if finders.iter().any(|f| f.find(text).is_some()) {
                    out.push(rank);
                }
            }
        }
        out
    }
}

/// The index of one process, rebuilt when the companies changed.
#[derive(Default)]
pub struct CompanyIndex {
    current: RwLock<Option<Arc<Built>>>,
    building: Mutex<()>,
    /// The builder thread's doorbell, once it runs (`services::companies::start_index`).
    bell: Mutex<Option<SyncSender<()>>>,
}

impl std::fmt::Debug for CompanyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompanyIndex(..)")
    }
}

impl CompanyIndex {
    /// The build in use, if any.
    pub fn current(&self) -> Option<Arc<Built>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes the build out of use (searches answer with SQL until the next one): the
    /// builder thread only builds when the one in use is stale, which no search can use
    /// anyway, so its buffers are better filled again than kept beside a second copy.
    pub fn take(&self) -> Option<Arc<Built>> {
        self.current
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Hands the builder thread its doorbell: from then on a stale index is built there.
    pub fn set_bell(&self, bell: SyncSender<()>) {
        *self.bell.lock().unwrap_or_else(|e| e.into_inner()) = Some(bell);
    }

    /// Asks the builder thread for a build (one pending ring is enough: a build reads
    /// the latest state). `false` when there is no builder thread (tests): the caller
    /// builds itself.
    pub fn ring(&self) -> bool {
        match &*self.bell.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(bell) => {
                // Full: a build is already asked for; gone: the process is ending.
                let _ = bell.try_send(());
                true
            }
            None => false,
        }
    }

    /// Builds again from `load` (which pushes every company, in list order, and answers
    /// the version it read them at), unless another build is under way: then answers
    /// `false` at once, and the caller answers with SQL meanwhile.
    pub fn rebuild<E>(&self, load: impl FnOnce(&mut Builder) -> Result<i64, E>) -> Result<bool, E> {
        self.rebuild_reusing(None, load)
    }

    /// [`rebuild`](Self::rebuild) into the buffers of `spare` (an index taken out of use).
    pub fn rebuild_reusing<E>(
        &self,
        spare: Option<Built>,
        load: impl FnOnce(&mut Builder) -> Result<i64, E>,
    ) -> Result<bool, E> {
        let Ok(_guard) = self.building.try_lock() else {
            return Ok(false);
        };
        let mut builder = Builder::reusing(spare);
        let version = load(&mut builder)?;
        let built = builder.finish(version).map(Arc::new);
        let ok = built.is_some();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = built;
        Ok(ok)
    }
}

/// The index itself once no search holds it any more (searches hold it for
/// microseconds; after a second, it is left to the last one to free).
pub fn reclaim(mut old: Arc<Built>) -> Option<Built> {
    for _ in 0..1000 {
        match Arc::try_unwrap(old) {
            Ok(b) => return Some(b),
            Err(still) => old = still,
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn built(rows: &[(&str, CompanyStatus, &str)]) -> Built {
        let mut b = Builder::default();
        for (id, status, text) in rows {
            b.push(id, &format!("k{id}"), *status, text);
        }
        b.finish(7).unwrap()
    }

    fn find(b: &Built, terms: &[&str], limit: usize) -> Vec<String> {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        b.find(&terms, Shown::NotArchived, None, limit).unwrap()
    }

    /// The texts lie end to end in one buffer: a term made of one company's end and the
    /// next one's start matches neither, with long terms (trigram lists) or short (scan).
    #[test]
    fn a_match_never_spans_two_companies() {
        let b = built(&[
            ("1", CompanyStatus::Active, "xyab"),
            ("2", CompanyStatus::Active, "cdxy"),
            ("3", CompanyStatus::Active, "abcd"),
        ]);
        assert_eq!(find(&b, &["abcd"], 10), ["3"]);
        assert_eq!(find(&b, &["bc"], 10), ["3"]);
        assert_eq!(find(&b, &["xy"], 10), ["1", "2"]);
        assert_eq!(find(&b, &["bcdx"], 10), Vec::<String>::new());
        assert_eq!(find(&b, &["yc"], 10), Vec::<String>::new());
    }

    /// One more than the page, in list order, statuses applied, after the cursor; both
    /// terms of a search counted once per company.
    #[test]
    fn pages_stop_at_one_more_and_follow_the_cursor() {
        let b = built(&[
            ("1", CompanyStatus::Active, "padaria um"),
            ("2", CompanyStatus::Archived, "padaria dois"),
            ("3", CompanyStatus::Suspended, "padaria tres 123"),
            ("4", CompanyStatus::Active, "mercado 123"),
            ("5", CompanyStatus::Active, "padaria cinco"),
        ]);
        assert_eq!(find(&b, &["padaria"], 1), ["1", "3"]);
        assert_eq!(find(&b, &["padaria", "123"], 10), ["1", "3", "4", "5"]);
        let terms = vec!["padaria".to_string()];
        let after = b
            .find(&terms, Shown::NotArchived, Some(("k1", "1")), 10)
            .unwrap();
        assert_eq!(after, ["3", "5"]);
        let archived = b
            .find(&terms, Shown::Only(CompanyStatus::Archived), None, 10)
            .unwrap();
        assert_eq!(archived, ["2"]);
        assert_eq!(
            b.find(&["a\u{1f}b".to_string()], Shown::NotArchived, None, 1),
            None
        );
    }

    /// A build into the buffers of an older index (the builder thread's way) leaves
    /// nothing of the older one: it answers as a fresh build of the same companies.
    #[test]
    fn a_build_into_reused_buffers_answers_as_a_fresh_one() {
        let old = built(&[
            ("1", CompanyStatus::Active, "padaria velha"),
            ("2", CompanyStatus::Active, "mercado antigo"),
            ("3", CompanyStatus::Active, "padaria antiga"),
        ]);
        let rows = [
            ("4", CompanyStatus::Active, "oficina nova"),
            ("5", CompanyStatus::Active, "padaria"),
        ];
        let mut reused = Builder::reusing(Some(old));
        let mut fresh = Builder::default();
        for (id, status, text) in rows {
            reused.push(id, &format!("k{id}"), status, text);
            fresh.push(id, &format!("k{id}"), status, text);
        }
        let (reused, fresh) = (reused.finish(8).unwrap(), fresh.finish(8).unwrap());
        for q in ["padaria", "antig", "nova", "a", "ofi", "mercado"] {
            assert_eq!(find(&reused, &[q], 10), find(&fresh, &[q], 10), "{q}");
        }
        assert_eq!(find(&reused, &["padaria"], 10), ["5"]);
        assert_eq!(reused.len(), 2);
    }

    /// Lists long enough to have skip entries, with 1-, 2- and 3-byte gaps: pages from
    /// cursors on each side of every skip entry, and elsewhere, equal a plain scan.
    #[test]
    fn pages_from_any_cursor_equal_a_plain_scan() {
        let words = ["padaria", "mercado", "oficina", "farmacia", "agro"];
        let mut seed = 7u64;
        let mut rnd = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let mut rows = Vec::new();
        for i in 0..40_000u32 {
            // The words in about a fifth each (1-byte gaps, lists of ~125 skip entries);
            // "vila" in about 1 of 200 (2-byte gaps, a few skip entries); "raro" in a
            // few far apart (3-byte gaps).
            let mut text = format!("{} {:05}", words[rnd(5) as usize], rnd(100_000));
            if rnd(200) == 0 {
                text.push_str(" vila");
            }
            if i % 17_000 == 3 || i == 39_999 {
                text.push_str(" raro");
            }
            let status = if rnd(10) == 0 {
                CompanyStatus::Archived
            } else {
                CompanyStatus::Active
            };
            rows.push((format!("{i:06}"), status, text));
        }
        let mut b = Builder::default();
        for (id, status, text) in &rows {
            b.push(id, &format!("k{id}"), *status, text);
        }
        let b = b.finish(1).unwrap();
        let queries = [
            vec!["padaria"],
            vec!["vila"],
            vec!["raro"],
            vec!["vila", "raro"],
            vec!["zzz"],
        ];
        for q in queries {
            let terms: Vec<String> = q.iter().map(|t| t.to_string()).collect();
            let matching: Vec<usize> = (0..rows.len())
                .filter(|&i| q.iter().any(|t| rows[i].2.contains(t)))
                .collect();
            assert!(q == ["zzz"] || !matching.is_empty(), "{q:?}");
            // Cursors at the list's own positions on each side of every skip entry
            // (every 64th), and some rows that are in no list.
            let mut cursors: Vec<Option<usize>> = vec![None, Some(0), Some(5_000), Some(39_998)];
            for k in (64..matching.len()).step_by(64) {
                cursors.extend([k - 2, k - 1, k].map(|p| Some(matching[p])));
            }
            for from in cursors {
                let key = from.map(|i| (format!("k{i:06}"), format!("{i:06}")));
                let after = key.as_ref().map(|(k, id)| (k.as_str(), id.as_str()));
                let got = b.find(&terms, Shown::NotArchived, after, 50).unwrap();
                let want: Vec<String> = matching
                    .iter()
                    .filter(|&&i| from.is_none_or(|f| i > f))
                    .filter(|&&i| rows[i].1 != CompanyStatus::Archived)
                    .map(|&i| rows[i].0.clone())
                    .take(51)
                    .collect();
                assert_eq!(got, want, "{q:?} after {from:?}");
            }
        }
    }
}

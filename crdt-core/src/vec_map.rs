//! A map stored as a vector sorted by key: the shared backbone of version vectors,
//! counters and context clouds.

/// Entries stored inline up to one (deltas and single-writer vectors never allocate).
type Entries<K, V> = smallvec::SmallVec<[(K, V); 1]>;

/// A map kept as a vector sorted strictly ascending by key.
///
/// Iteration order is the key order, so anything built on it encodes and compares
/// deterministically. Lookups are binary searches; a join walks both maps once
/// (O(n + m)) unless the other map is small, in which case each of its entries is
/// looked up (O(m log n)), so merging a small delta never costs the whole map.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct VecMap<K, V> {
    entries: Entries<K, V>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Entries::new_const(),
        }
    }
}

impl<K: Ord + Copy, V> VecMap<K, V> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Entries::new_const(),
        }
    }

    /// Wraps entries the caller has checked to be sorted strictly ascending by key.
    pub(crate) fn from_sorted(entries: Vec<(K, V)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        Self {
            entries: Entries::from_vec(entries),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.entries
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self.entries.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    /// The value at `key`, inserted from `default` first if absent.
    pub(crate) fn get_or_insert_with(&mut self, key: K, default: impl FnOnce() -> V) -> &mut V {
        let i = match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, default()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self.entries.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(self.entries.remove(i).1),
            Err(_) => None,
        }
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Joins `other` into `self`: `join(mine, theirs)` for keys in both, a copy made
    /// by `adopt` for keys only in `other`.
    pub(crate) fn merge_with<W>(
        &mut self,
        other: &VecMap<K, W>,
        mut join: impl FnMut(&mut V, &W),
        mut adopt: impl FnMut(&W) -> V,
    ) {
        if other.is_empty() {
            return;
        }
        // A few entries (a delta): binary search each; O(m log n) plus at most m moves
        // of the tail, so never quadratic. Otherwise one ordered walk of both.
        if other.len() <= 8 {
            for (k, w) in &other.entries {
                match self.entries.binary_search_by(|(mine, _)| mine.cmp(k)) {
                    Ok(i) => join(&mut self.entries[i].1, w),
                    Err(i) => self.entries.insert(i, (*k, adopt(w))),
                }
            }
            return;
        }
        // Large other: one ordered walk of both.
        let mut out = Vec::with_capacity(self.entries.len() + other.len());
        let mut theirs = other.entries.iter().peekable();
        for (k, mut v) in self.entries.drain(..) {
            while let Some((tk, tw)) = theirs.next_if(|(tk, _)| *tk < k) {
                out.push((*tk, adopt(tw)));
            }
            if let Some((_, tw)) = theirs.next_if(|(tk, _)| *tk == k) {
                join(&mut v, tw);
            }
            out.push((k, v));
        }
        out.extend(theirs.map(|(tk, tw)| (*tk, adopt(tw))));
        self.entries = Entries::from_vec(out);
    }
}

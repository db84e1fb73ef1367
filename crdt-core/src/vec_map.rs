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

    /// The heap held: the entries' buffer once spilled (one entry is inline), plus
    /// `value`'s figure for each value.
    pub(crate) fn heap_bytes(&self, value: impl Fn(&V) -> usize) -> usize {
        crate::memory::small_vec(&self.entries)
            + self.entries.iter().map(|(_, v)| value(v)).sum::<usize>()
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
        // Large other: one ordered walk of both, joining in place where the keys meet
        // (replicas that merge often share their keys: then nothing is allocated or
        // moved); keys only `other` has are collected and woven in afterwards. Each
        // entry of `other` is joined or adopted exactly once.
        let mut missing: Vec<(K, V)> = Vec::new();
        let mine = self.entries.as_mut_slice();
        let mut i = 0;
        for (k, w) in &other.entries {
            while i < mine.len() && mine[i].0 < *k {
                i += 1;
            }
            match mine.get_mut(i) {
                Some((mk, v)) if *mk == *k => {
                    join(v, w);
                    i += 1;
                }
                _ => missing.push((*k, adopt(w))),
            }
        }
        if missing.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.entries.len() + missing.len());
        let mut extra = missing.into_iter().peekable();
        for (k, v) in self.entries.drain(..) {
            while let Some(e) = extra.next_if(|(ek, _)| *ek < k) {
                out.push(e);
            }
            out.push((k, v));
        }
        out.extend(extra);
        self.entries = Entries::from_vec(out);
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;
    use std::collections::BTreeMap;

    /// Large merges (the ordered walk) against a `BTreeMap` model, with a summing join
    /// so that an entry joined twice, or adopted and joined, would show.
    #[test]
    fn merge_with_joins_each_entry_of_the_other_exactly_once() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for round in 0..300 {
            let span = 2 + round % 200;
            let build = |next: &mut dyn FnMut(u64) -> u64| {
                let n = next(span);
                let model: BTreeMap<u64, u64> = (0..n).map(|_| (next(span), 1 + next(9))).collect();
                model
            };
            let (a, b) = (build(&mut next), build(&mut next));
            let mut mine = VecMap::from_sorted(a.iter().map(|(k, v)| (*k, *v)).collect());
            let theirs = VecMap::from_sorted(b.iter().map(|(k, v)| (*k, *v)).collect());
            mine.merge_with(&theirs, |x, y| *x += *y, |y| *y);
            let mut expected = a.clone();
            for (k, v) in &b {
                *expected.entry(*k).or_insert(0) += v;
            }
            let got: Vec<(u64, u64)> = mine.iter().map(|(k, v)| (*k, *v)).collect();
            let want: Vec<(u64, u64)> = expected.into_iter().collect();
            assert_eq!(got, want, "round {round}: {a:?} + {b:?}");
        }
    }
}

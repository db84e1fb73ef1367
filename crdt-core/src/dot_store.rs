//! The OR-Set's dot store: an ordered map from elements to their dots, packed densely.

use crate::dots::Dots;
use core::borrow::Borrow;
use core::fmt;
use core::ops::{Bound, RangeBounds};
use smallvec::SmallVec;
use std::collections::{btree_map, BTreeMap};

/// The most entries a chunk holds (a power of two: a chunk grown by doubling ends with
/// no spare capacity).
const CHUNK: usize = 64;

/// One element and its dots.
type Entry<T, V> = (T, V);

/// A run of consecutive entries, sorted, `1..=CHUNK` long.
type Chunk<T, V> = Vec<Entry<T, V>>;

/// An ordered map `T -> Dots` (ascending by `T`), stored as sorted chunks of up to
/// [`CHUNK`] entries indexed by a B-tree on each chunk's first element.
///
/// Why not a `BTreeMap<T, Dots>`: std's B-tree leaves are 11 slots of 368 bytes (for
/// `u64` keys), and ascending inserts (a local writer's usual pattern) leave them 6/11
/// full, i.e. 64 bytes per element. Here an append to the last chunk fills it to
/// [`CHUNK`] before starting the next one, so ascending inserts keep chunks full (32
/// bytes per `u64` element plus about 1 of index); other inserts split a full chunk in
/// halves; removes merge sparse neighbours. Lookups, inserts and removes stay
/// O(log n + CHUNK). A store of at most [`CHUNK`] entries (every delta of a mutator)
/// is one vector that holds a single entry inline, without any allocation.
///
/// Equality, iteration and everything encoded depend only on the entries, never on
/// how they are chunked.
#[derive(Clone)]
pub(crate) struct ChunkMap<T, V> {
    repr: Repr<T, V>,
}

/// The OR-Set's dot store: each element's dots.
pub(crate) type DotStore<T> = ChunkMap<T, Dots>;

#[derive(Clone)]
enum Repr<T, V> {
    /// At most [`CHUNK`] entries, sorted.
    Small(SmallVec<[Entry<T, V>; 1]>),
    /// Chunks keyed by their first element: each non-empty, sorted, at most [`CHUNK`]
    /// long, and wholly below the next chunk's first element. `len` counts entries.
    Chunked {
        chunks: BTreeMap<T, Chunk<T, V>>,
        len: usize,
    },
}

impl<T, V> Default for ChunkMap<T, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, V> ChunkMap<T, V> {
    /// The empty store (no allocation).
    pub(crate) const fn new() -> Self {
        Self {
            repr: Repr::Small(SmallVec::new_const()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Chunked { len, .. } => *len,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The heap held: the entries' vector (inline for one entry) or each chunk's
    /// buffer and the B-tree of chunks (whose keys are clones of each chunk's first
    /// element: `index_key` is their heap), plus `entry`'s figure for each entry.
    pub(crate) fn heap_bytes(
        &self,
        entry: impl Fn(&T, &V) -> usize,
        index_key: impl Fn(&T) -> usize,
    ) -> usize {
        let entries: usize = self.iter().map(|(k, v)| entry(k, v)).sum();
        entries
            + match &self.repr {
                Repr::Small(v) => crate::memory::small_vec(v),
                Repr::Chunked { chunks, .. } => {
                    crate::memory::btree_nodes::<T, Chunk<T, V>>(chunks.len())
                        + chunks
                            .iter()
                            .map(|(k, c)| {
                                index_key(k) + crate::memory::slots::<Entry<T, V>>(c.capacity())
                            })
                            .sum::<usize>()
                }
            }
    }

    /// The entries in ascending order.
    pub(crate) fn iter(&self) -> Iter<'_, T, V> {
        match &self.repr {
            Repr::Small(v) => Iter {
                chunks: None,
                front: v.iter(),
                back: [].iter(),
                len: v.len(),
            },
            Repr::Chunked { chunks, len } => Iter {
                chunks: Some(chunks.values()),
                front: [].iter(),
                back: [].iter(),
                len: *len,
            },
        }
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl<T: Ord + Clone, V> ChunkMap<T, V> {
    /// Builds a store from entries sorted strictly ascending by element (the caller
    /// checks), packing chunks full; allocates nothing beyond the chunks themselves.
    pub(crate) fn from_sorted(entries: impl IntoIterator<Item = Entry<T, V>>) -> Self {
        let mut rest = entries.into_iter();
        let head: SmallVec<[Entry<T, V>; 1]> = rest.by_ref().take(CHUNK).collect();
        debug_assert!(head.windows(2).all(|w| w[0].0 < w[1].0));
        let Some(next) = rest.next() else {
            return Self {
                repr: Repr::Small(head),
            };
        };
        let mut len = head.len();
        let mut chunks = BTreeMap::new();
        let mut prev = head.into_vec();
        let mut next = Some(next);
        while let Some(first) = next.take() {
            let chunk: Chunk<T, V> = core::iter::once(first)
                .chain(rest.by_ref().take(CHUNK - 1))
                .collect();
            debug_assert!(prev.last().map(|(k, _)| k) < chunk.first().map(|(k, _)| k));
            if let Some(key) = prev.first().map(|(k, _)| k.clone()) {
                chunks.insert(key, core::mem::replace(&mut prev, chunk));
            }
            len += prev.len();
            next = rest.next();
        }
        if let Some(key) = prev.first().map(|(k, _)| k.clone()) {
            chunks.insert(key, prev);
        }
        Self {
            repr: Repr::Chunked { chunks, len },
        }
    }

    /// The chunk that holds `key` or would: the last one starting at or before it,
    /// else the first.
    fn chunk_of<'a, Q>(chunks: &'a BTreeMap<T, Chunk<T, V>>, key: &Q) -> Option<&'a Chunk<T, V>>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        chunks
            .range::<Q, _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .or_else(|| chunks.iter().next())
            .map(|(_, c)| c)
    }

    fn slice_of<Q>(&self, key: &Q) -> &[Entry<T, V>]
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &self.repr {
            Repr::Small(v) => v,
            Repr::Chunked { chunks, .. } => Self::chunk_of(chunks, key).map_or(&[], |c| c),
        }
    }

    /// The entry under `key`, with the key as stored.
    pub(crate) fn get_key_value<Q>(&self, key: &Q) -> Option<(&T, &V)>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let s = self.slice_of(key);
        s.binary_search_by(|(k, _)| k.borrow().cmp(key))
            .ok()
            .map(|i| (&s[i].0, &s[i].1))
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get_key_value_mut(key).map(|(_, v)| v)
    }

    /// The entry under `key` with the key as stored, the value mutable (one search).
    pub(crate) fn get_key_value_mut<Q>(&mut self, key: &Q) -> Option<(&T, &mut V)>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let s: &mut [Entry<T, V>] = match &mut self.repr {
            Repr::Small(v) => v,
            Repr::Chunked { chunks, .. } => {
                chunks
                    .range_mut::<Q, _>((Bound::Unbounded, Bound::Included(key)))
                    .next_back()?
                    .1
            }
        };
        match s.binary_search_by(|(k, _)| k.borrow().cmp(key)) {
            Ok(i) => {
                let (k, v) = &mut s[i];
                Some((&*k, v))
            }
            Err(_) => None,
        }
    }

    /// The entries with keys within `(lo, hi)`, ascending (none if the bounds are
    /// inverted). O(log n + CHUNK) to start, then O(1) per entry.
    pub(crate) fn range<'a, Q>(
        &'a self,
        lo: Bound<&'a Q>,
        hi: Bound<&'a Q>,
    ) -> impl DoubleEndedIterator<Item = (&'a T, &'a V)> + 'a
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let empty = match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a >= b
            }
            _ => false,
        };
        let (small, chunks): (&'a [Entry<T, V>], _) = match &self.repr {
            _ if empty => (&[][..], None),
            Repr::Small(v) => (&v[..], None),
            Repr::Chunked { chunks, .. } => {
                // From the chunk holding `lo` (the first one if none does).
                let start = match lo {
                    Bound::Included(q) | Bound::Excluded(q) => chunks
                        .range::<Q, _>((Bound::Unbounded, Bound::Included(q)))
                        .next_back()
                        .map(|(k, _)| k.borrow()),
                    Bound::Unbounded => None,
                };
                let start = start.map_or(Bound::Unbounded, Bound::Included);
                (&[][..], Some(chunks.range::<Q, _>((start, hi))))
            }
        };
        small
            .iter()
            .chain(chunks.into_iter().flatten().flat_map(|(_, c)| c.iter()))
            .map(|(k, v)| (k, v))
            .filter(move |(k, _)| RangeBounds::<Q>::contains(&(lo, hi), (*k).borrow()))
    }

    /// Inserts or replaces; returns the replaced dots.
    pub(crate) fn insert(&mut self, key: T, value: V) -> Option<V> {
        loop {
            match &mut self.repr {
                Repr::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                    Ok(i) => return Some(core::mem::replace(&mut v[i].1, value)),
                    Err(i) if v.len() < CHUNK => {
                        v.insert(i, (key, value));
                        return None;
                    }
                    Err(_) => {
                        // Full: become one chunk, then insert as below.
                        let chunk: Chunk<T, V> = core::mem::take(v).into_vec();
                        let len = chunk.len();
                        let mut chunks = BTreeMap::new();
                        if let Some(first) = chunk.first().map(|(k, _)| k.clone()) {
                            chunks.insert(first, chunk);
                        }
                        self.repr = Repr::Chunked { chunks, len };
                    }
                },
                Repr::Chunked { chunks, len } => {
                    let old = Self::insert_chunked(chunks, key, value);
                    if old.is_none() {
                        *len += 1;
                    }
                    return old;
                }
            }
        }
    }

    fn insert_chunked(chunks: &mut BTreeMap<T, Chunk<T, V>>, key: T, value: V) -> Option<V> {
        let in_last = chunks.last_key_value().is_some_and(|(k, _)| *k <= key);
        let Some((_, chunk)) = chunks.range_mut(..=&key).next_back() else {
            // Below every element: it starts the first chunk, which is re-keyed, or a
            // new chunk if that one is full (so descending inserts keep chunks full).
            let first_full = chunks
                .first_key_value()
                .map_or(true, |(_, c)| c.len() >= CHUNK);
            if first_full {
                chunks.insert(key.clone(), vec![(key, value)]);
                return None;
            }
            let mut chunk = chunks.pop_first().map(|(_, c)| c).unwrap_or_default();
            push_within_capacity(&mut chunk, 0, (key.clone(), value));
            chunks.insert(key, chunk);
            return None;
        };
        let i = match chunk.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => return Some(core::mem::replace(&mut chunk[i].1, value)),
            Err(i) => i,
        };
        if chunk.len() < CHUNK {
            push_within_capacity(chunk, i, (key, value));
            return None;
        }
        let carry = if i == CHUNK && in_last {
            // An append past the last element: this chunk stays full, a new one starts.
            vec![(key, value)]
        } else {
            // Split the full chunk in halves and insert into the half it belongs to.
            let mut upper = chunk.split_off(CHUNK / 2);
            if i <= CHUNK / 2 {
                push_within_capacity(chunk, i, (key, value));
            } else {
                push_within_capacity(&mut upper, i - CHUNK / 2, (key, value));
            }
            upper
        };
        if let Some(first) = carry.first().map(|(k, _)| k.clone()) {
            chunks.insert(first, carry);
        }
        None
    }

    /// Removes `key`; returns its entry.
    pub(crate) fn remove_entry<Q>(&mut self, key: &Q) -> Option<Entry<T, V>>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (chunks, len) = match &mut self.repr {
            Repr::Small(v) => {
                let i = v.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
                return Some(v.remove(i));
            }
            Repr::Chunked { chunks, len } => (chunks, len),
        };
        let (first, chunk) = chunks
            .range_mut::<Q, _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        let i = chunk.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
        let entry = chunk.remove(i);
        *len -= 1;
        // Re-file the chunk if its first element changed or it became sparse.
        if i == 0 || chunk.len() < CHUNK / 4 {
            let first = first.clone();
            if let Some(chunk) = chunks.remove::<T>(&first) {
                Self::rebalance(chunks, chunk);
            }
        }
        if *len <= CHUNK / 2 {
            self.shrink_to_small();
        }
        Some(entry)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Keeps the entries for which `keep` returns true (O(n)).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T, &mut V) -> bool) {
        match &mut self.repr {
            Repr::Small(v) => v.retain(|(k, d)| keep(k, d)),
            Repr::Chunked { chunks, .. } => {
                let mut kept: Vec<Entry<T, V>> = Vec::new();
                let mut changed = false;
                for chunk in chunks.values_mut() {
                    let before = chunk.len();
                    chunk.retain_mut(|(k, d)| keep(k, d));
                    changed |= chunk.len() != before;
                }
                if !changed {
                    return;
                }
                // Repack: O(n) like the scan itself, and leaves every chunk full.
                for (_, chunk) in core::mem::take(chunks) {
                    kept.extend(chunk);
                }
                *self = Self::from_sorted(kept);
            }
        }
    }

    /// Re-files a chunk taken out after a remove: dropped if empty, merged with a
    /// neighbour if sparse and the two fit in one chunk, and keyed by its (possibly
    /// new) first element.
    fn rebalance(chunks: &mut BTreeMap<T, Chunk<T, V>>, mut chunk: Chunk<T, V>) {
        let Some(first) = chunk.first().map(|(k, _)| k.clone()) else {
            return;
        };
        if chunk.len() < CHUNK / 4 {
            // Merge into the preceding chunk if both fit in one, else absorb the next.
            if let Some((_, prev)) = chunks.range_mut(..&first).next_back() {
                if prev.len() + chunk.len() <= CHUNK {
                    prev.reserve_exact(chunk.len());
                    prev.append(&mut chunk);
                    return;
                }
            }
            let next_key = chunks
                .range(&first..)
                .next()
                .filter(|(_, next)| next.len() + chunk.len() <= CHUNK)
                .map(|(k, _)| k.clone());
            if let Some(next) = next_key.and_then(|k| chunks.remove(&k)) {
                chunk.reserve_exact(next.len());
                chunk.extend(next);
            }
            if chunk.capacity() >= 4 * chunk.len() {
                chunk.shrink_to(2 * chunk.len());
            }
        }
        chunks.insert(first, chunk);
    }

    /// Every entry, ascending, by value.
    pub(crate) fn into_vec(self) -> Vec<Entry<T, V>> {
        match self.repr {
            Repr::Small(v) => v.into_vec(),
            Repr::Chunked { chunks, len } => {
                let mut all = Vec::with_capacity(len);
                for (_, chunk) in chunks {
                    all.extend(chunk);
                }
                all
            }
        }
    }

    /// Back to one vector once small (so a set emptied by removes holds no chunks).
    fn shrink_to_small(&mut self) {
        if let Repr::Chunked { chunks, .. } = &mut self.repr {
            let mut all: Vec<Entry<T, V>> = Vec::with_capacity(chunks.values().map(Vec::len).sum());
            for (_, chunk) in core::mem::take(chunks) {
                all.extend(chunk);
            }
            self.repr = Repr::Small(SmallVec::from_vec(all));
        }
    }
}

/// Inserts at `i`, growing the capacity by doubling but never past [`CHUNK`] (a chunk
/// never holds more, and so never more spare room than it holds).
fn push_within_capacity<E>(chunk: &mut Vec<E>, i: usize, e: E) {
    if chunk.len() == chunk.capacity() {
        let want = chunk
            .len()
            .max(1)
            .min(CHUNK.saturating_sub(chunk.len()).max(1));
        chunk.reserve_exact(want);
    }
    chunk.insert(i, e);
}

impl<T: PartialEq, V: PartialEq> PartialEq for ChunkMap<T, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: fmt::Debug, V: fmt::Debug> fmt::Debug for ChunkMap<T, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, T, V> IntoIterator for &'a ChunkMap<T, V> {
    type Item = (&'a T, &'a V);
    type IntoIter = Iter<'a, T, V>;

    fn into_iter(self) -> Iter<'a, T, V> {
        self.iter()
    }
}

/// The entries of a [`ChunkMap`] in ascending order.
pub(crate) struct Iter<'a, T, V> {
    chunks: Option<btree_map::Values<'a, T, Chunk<T, V>>>,
    front: core::slice::Iter<'a, Entry<T, V>>,
    back: core::slice::Iter<'a, Entry<T, V>>,
    len: usize,
}

impl<'a, T, V> Iterator for Iter<'a, T, V> {
    type Item = (&'a T, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.front.next() {
                self.len -= 1;
                return Some((k, v));
            }
            match self.chunks.as_mut().and_then(Iterator::next) {
                Some(chunk) => self.front = chunk.iter(),
                None => {
                    let (k, v) = self.back.next()?;
                    self.len -= 1;
                    return Some((k, v));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<T, V> DoubleEndedIterator for Iter<'_, T, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.back.next_back() {
                self.len -= 1;
                return Some((k, v));
            }
            match self
                .chunks
                .as_mut()
                .and_then(DoubleEndedIterator::next_back)
            {
                Some(chunk) => self.back = chunk.iter(),
                None => {
                    let (k, v) = self.front.next_back()?;
                    self.len -= 1;
                    return Some((k, v));
                }
            }
        }
    }
}

impl<T, V> ExactSizeIterator for Iter<'_, T, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dot, ReplicaId};
    use std::collections::BTreeMap;

    fn dots(c: u64) -> Dots {
        Dots::one(Dot::new(ReplicaId::new(c % 3), c + 1))
    }

    impl<T: Ord + Clone, V> ChunkMap<T, V> {
        /// Every structural invariant; `len` matches.
        fn check(&self) {
            match &self.repr {
                Repr::Small(v) => {
                    assert!(v.len() <= CHUNK);
                    assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
                }
                Repr::Chunked { chunks, len } => {
                    assert_eq!(*len, chunks.values().map(Vec::len).sum::<usize>());
                    assert!(*len > CHUNK / 2, "a chunked store of {len}");
                    let mut prev: Option<&T> = None;
                    for (first, chunk) in chunks {
                        assert!(!chunk.is_empty() && chunk.len() <= CHUNK);
                        assert!(chunk.capacity() <= 2 * CHUNK);
                        assert!(*first == chunk[0].0, "chunk keyed by its first element");
                        assert!(chunk.windows(2).all(|w| w[0].0 < w[1].0));
                        assert!(prev.map_or(true, |p| *p < chunk[0].0));
                        prev = chunk.last().map(|(k, _)| k);
                    }
                }
            }
        }
    }

    fn same(store: &DotStore<u64>, model: &BTreeMap<u64, Dots>) {
        store.check();
        assert_eq!(store.len(), model.len());
        assert!(store.iter().eq(model.iter()));
        assert!(store.iter().rev().eq(model.iter().rev()));
        assert_eq!(store.iter().len(), model.len());
        // Both ends at once meet in the middle without losing or repeating an entry.
        let mut it = store.iter();
        let mut out: Vec<u64> = Vec::new();
        let mut back: Vec<u64> = Vec::new();
        loop {
            assert_eq!(it.len(), model.len() - out.len() - back.len());
            let Some((k, _)) = it.next() else { break };
            out.push(*k);
            let Some((k, _)) = it.next_back() else { break };
            back.push(*k);
        }
        out.extend(back.into_iter().rev());
        assert!(out.iter().eq(model.keys()));
    }

    /// SplitMix64: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn matches_a_btree_map_under_random_operations() {
        for (seed, range, ops) in [(1, 50, 3_000), (2, 400, 20_000), (3, 5_000, 30_000)] {
            let mut rng = Rng(seed);
            let mut store = DotStore::new();
            let mut model = BTreeMap::new();
            for step in 0..ops {
                let k = rng.next() % range;
                // Phases: mostly inserts, then mostly removes, then mixed.
                let insert_bias = match (step * 3) / ops {
                    0 => 8,
                    1 => 2,
                    _ => 5,
                };
                match rng.next() % 10 {
                    r if r < insert_bias => {
                        assert_eq!(store.insert(k, dots(step)), model.insert(k, dots(step)));
                    }
                    _ => {
                        assert_eq!(store.remove_entry(&k), model.remove_entry(&k));
                    }
                }
                assert_eq!(store.get(&k), model.get(&k));
                assert_eq!(store.contains_key(&(k + 1)), model.contains_key(&(k + 1)));
                if let (Some(a), Some(b)) = (store.get_mut(&k), model.get_mut(&k)) {
                    a.push(Dot::new(ReplicaId::new(9), step + 1));
                    b.push(Dot::new(ReplicaId::new(9), step + 1));
                }
                if step % 997 == 0 {
                    same(&store, &model);
                }
            }
            same(&store, &model);
            let parity = rng.next() % 2;
            store.retain(|k, _| k % 2 == parity);
            model.retain(|k, _| k % 2 == parity);
            same(&store, &model);
            let rebuilt = DotStore::from_sorted(store.clone().into_vec());
            same(&rebuilt, &model);
            assert!(rebuilt == store);
        }
    }

    #[test]
    fn ascending_and_descending_inserts_and_removes() {
        let mut store = DotStore::new();
        let mut model = BTreeMap::new();
        for k in 0..5_000 {
            store.insert(k, dots(k));
            model.insert(k, dots(k));
        }
        same(&store, &model);
        // Ascending inserts leave every chunk but the last full.
        if let Repr::Chunked { chunks, .. } = &store.repr {
            let n = chunks.len();
            assert!(chunks.values().take(n - 1).all(|c| c.len() == CHUNK));
            assert!(chunks
                .values()
                .all(|c| c.capacity() == c.len().next_power_of_two()));
        } else {
            panic!("5,000 entries are chunked");
        }
        for k in (10_000..12_000).rev() {
            store.insert(k, dots(k));
            model.insert(k, dots(k));
        }
        for k in (0..1_000).map(|k| 1_000_000 - k) {
            store.insert(k, dots(k));
            model.insert(k, dots(k));
        }
        same(&store, &model);
        // Remove from the front, the back, and every other one: chunks are re-keyed,
        // merged, and the store ends small.
        for k in (0..2_500)
            .chain((10_000..12_000).rev())
            .chain((2_500..5_000).step_by(2))
        {
            assert_eq!(store.remove(&k), model.remove(&k));
        }
        same(&store, &model);
        let keys: Vec<u64> = model.keys().copied().collect();
        for k in keys {
            assert_eq!(store.remove(&k), model.remove(&k));
            if k % 7 == 0 {
                same(&store, &model);
            }
        }
        same(&store, &model);
        assert!(matches!(&store.repr, Repr::Small(v) if v.is_empty() && v.capacity() <= CHUNK));
    }

    #[test]
    fn descending_inserts_keep_chunks_full() {
        let mut store = DotStore::new();
        let mut model = BTreeMap::new();
        for k in (0..5_000).rev() {
            store.insert(k, dots(k));
            model.insert(k, dots(k));
        }
        same(&store, &model);
        let Repr::Chunked { chunks, .. } = &store.repr else {
            panic!("5,000 entries are chunked")
        };
        assert!(chunks.values().skip(1).all(|c| c.len() == CHUNK));
    }

    #[test]
    fn ranges_and_borrowed_lookups_match_a_btree_map() {
        use std::sync::Arc;
        for n in [0u64, 1, 40, 64, 65, 1_000] {
            let model: BTreeMap<Arc<str>, u64> = (0..n)
                .map(|i| (Arc::from(format!("k{:04}", i * 3)), i))
                .collect();
            let store = ChunkMap::from_sorted(model.iter().map(|(k, v)| (k.clone(), *v)));
            let mut rng = Rng(n);
            for _ in 0..300 {
                let a = format!("k{:04}", rng.next() % (3 * n + 3));
                let b = format!("k{:04}", rng.next() % (3 * n + 3));
                let bound = |s: &str, r: u64| -> Bound<String> {
                    match r % 3 {
                        0 => Bound::Included(s.to_string()),
                        1 => Bound::Excluded(s.to_string()),
                        _ => Bound::Unbounded,
                    }
                };
                let (lo, hi) = (bound(&a, rng.next()), bound(&b, rng.next()));
                let (lo, hi) = (
                    lo.as_ref().map(String::as_str),
                    hi.as_ref().map(String::as_str),
                );
                let got: Vec<(&Arc<str>, &u64)> = store.range::<str>(lo, hi).collect();
                let inverted = match (lo, hi) {
                    (Bound::Included(x), Bound::Included(y)) => x > y,
                    (
                        Bound::Included(x) | Bound::Excluded(x),
                        Bound::Included(y) | Bound::Excluded(y),
                    ) => x >= y,
                    _ => false,
                };
                let want: Vec<(&Arc<str>, &u64)> = if inverted {
                    Vec::new()
                } else {
                    model.range::<str, _>((lo, hi)).collect()
                };
                assert_eq!(got, want, "{lo:?}..{hi:?} of {n}");
                let back: Vec<(&Arc<str>, &u64)> = store.range::<str>(lo, hi).rev().collect();
                assert!(back.iter().rev().eq(want.iter()));
                assert_eq!(store.get_key_value(&*a), model.get_key_value(&*a));
            }
        }
    }

    #[test]
    fn one_entry_allocates_nothing() {
        let mut store = DotStore::new();
        store.insert(7_u64, dots(7));
        assert!(matches!(&store.repr, Repr::Small(v) if !v.spilled()));
    }
}
